// The official Node SDK (orb-billing) against orb-mock. The Node SDK does not validate response
// shapes at run time, so these tests assert the shapes and the SDK's error classes themselves.
// Each test runs in its own account (a fresh API key, see helpers.mjs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Orb from 'orb-billing';

import {
  BAD_KEY,
  account,
  collect,
  issuedInvoice,
  makeClient,
  newCustomer,
  newInvoice,
  unique,
} from './helpers.mjs';

// --- customers --------------------------------------------------------------------------------

test('a customer is created then fetched by id and by external id', async () => {
  const { client } = account();
  const ext = unique('ext');
  const created = await newCustomer(client, { external_customer_id: ext, metadata: { plan: 'gold' } });
  assert.equal(created.name, 'Ada Lovelace');
  assert.equal(created.email, 'ada@example.com');
  assert.equal(created.external_customer_id, ext);
  assert.deepEqual(created.metadata, { plan: 'gold' });
  assert.equal(created.balance, '0.00');
  assert.equal(created.timezone, 'Etc/UTC');

  const byId = await client.customers.fetch(created.id);
  assert.deepEqual(byId, created);

  const byExt = await client.customers.fetchByExternalID(ext);
  assert.equal(byExt.id, created.id);
});

test('updating a customer renames it, merges metadata, and a null value removes a key', async () => {
  const { client } = account();
  const ext = unique('ext');
  const created = await newCustomer(client, {
    external_customer_id: ext,
    metadata: { plan: 'gold', region: 'eu' },
  });

  const updated = await client.customers.update(created.id, {
    name: 'Ada King',
    metadata: { region: null, tier: '1' },
  });
  assert.equal(updated.name, 'Ada King');
  assert.deepEqual(updated.metadata, { plan: 'gold', tier: '1' });

  const again = await client.customers.updateByExternalID(ext, { metadata: { plan: null } });
  assert.equal(again.id, created.id);
  assert.deepEqual(again.metadata, { tier: '1' });
  assert.deepEqual((await client.customers.fetch(created.id)).metadata, { tier: '1' });
});

test('auto-pagination walks 45 customers over 3 pages and yields each once', async () => {
  const { client } = account();
  const created = new Set();
  for (let i = 0; i < 45; i++) created.add((await newCustomer(client)).id);
  assert.equal(created.size, 45);

  const seen = (await collect(client.customers.list({ limit: 20 }))).map((c) => c.id);
  assert.equal(seen.length, 45);
  assert.deepEqual(new Set(seen), created);

  const sizes = [];
  let last;
  for await (const page of (await client.customers.list({ limit: 20 })).iterPages()) {
    sizes.push(page.data.length);
    last = page;
  }
  assert.deepEqual(sizes, [20, 20, 5]);
  assert.equal(last.pagination_metadata.has_more, false);
  assert.equal(last.pagination_metadata.next_cursor, null);
});

test('listing customers with a created_at filter returns only those in range', async () => {
  const { client } = account();
  const before = new Date(Date.now() - 5 * 60_000).toISOString();
  const ids = new Set();
  for (let i = 0; i < 3; i++) ids.add((await newCustomer(client)).id);

  const page = await client.customers.list({ 'created_at[gte]': before, limit: 100 });
  assert.deepEqual(new Set(page.data.map((c) => c.id)), ids);

  const future = new Date(Date.now() + 86_400_000).toISOString();
  assert.deepEqual((await client.customers.list({ 'created_at[gt]': future })).data, []);
  assert.equal((await collect(client.customers.list({ 'created_at[lt]': future }))).length, 3);
});

test('an external customer id in use raises DuplicateResourceCreation', async () => {
  const { client } = account();
  const ext = unique('ext');
  await newCustomer(client, { external_customer_id: ext });
  await assert.rejects(newCustomer(client, { external_customer_id: ext }), Orb.DuplicateResourceCreation);
});

test('an out-of-range limit raises RequestValidationError', async () => {
  const { client } = account();
  await assert.rejects(client.customers.list({ limit: 0 }), Orb.RequestValidationError);
});

// --- deletion ---------------------------------------------------------------------------------

test('deleting a customer with an issued invoice raises ConstraintViolation', async () => {
  const { client } = account();
  const customer = await newCustomer(client);
  await issuedInvoice(client, customer.id);

  await assert.rejects(client.customers.delete(customer.id), (err) => {
    assert.ok(err instanceof Orb.ConstraintViolation, `got ${err?.constructor?.name}: ${err}`);
    assert.equal(err.status, 400);
    return true;
  });
  assert.equal((await client.customers.fetch(customer.id)).id, customer.id);
});

test('voiding the issued invoice lets the customer be deleted', async () => {
  const { client } = account();
  const customer = await newCustomer(client);
  const invoice = await issuedInvoice(client, customer.id);

  assert.equal((await client.invoices.void(invoice.id)).status, 'void');
  const { response } = await client.customers.delete(customer.id).withResponse();
  assert.equal(response.status, 204);
});

test('a customer being deleted reads as {id, deleted: true}', async () => {
  const { client } = account();
  const ext = unique('ext');
  const customer = await newCustomer(client, { external_customer_id: ext });
  await client.customers.delete(customer.id);

  assert.deepEqual(await client.customers.fetch(customer.id), { id: customer.id, deleted: true });
  assert.deepEqual(await client.customers.fetchByExternalID(ext), { id: customer.id, deleted: true });
  await assert.rejects(client.customers.update(customer.id, { name: 'Too late' }), Orb.ConstraintViolation);
  await client.customers.delete(customer.id); // a second DELETE while deleting is accepted again
});

test('completing the deletion makes the customer and what it owned not found', async () => {
  const { client, mock } = account();
  const customer = await newCustomer(client);
  const invoice = await newInvoice(client, customer.id);
  const subscription = await client.subscriptions.create({ customer_id: customer.id, plan_id: 'plan_x' });
  await client.customers.delete(customer.id);

  const done = await mock.completeDeletion(customer.id);
  assert.equal(done.completed, 1);
  assert.deepEqual(
    done.data.map((d) => [d.customer_id, d.state]),
    [[customer.id, 'completed']],
  );

  await assert.rejects(client.customers.fetch(customer.id), Orb.ResourceNotFound);
  await assert.rejects(client.invoices.fetch(invoice.id), Orb.ResourceNotFound);
  await assert.rejects(client.subscriptions.fetch(subscription.id), Orb.ResourceNotFound);
  await assert.rejects(client.customers.delete(customer.id), Orb.ResourceNotFound);
  assert.deepEqual(await collect(client.customers.list()), []);
});

// --- errors -----------------------------------------------------------------------------------

test('an unknown path raises URLNotFound', async () => {
  const { client } = account();
  await assert.rejects(client.get('/no_such_thing'), (err) => {
    assert.ok(err instanceof Orb.URLNotFound, `got ${err?.constructor?.name}: ${err}`);
    assert.equal(err.status, 404);
    return true;
  });
});

test('an unknown customer id raises ResourceNotFound', async () => {
  const { client } = account();
  await assert.rejects(client.customers.fetch('nosuchcustomer00'), Orb.ResourceNotFound);
});

test('a bad API key raises OrbAuthenticationError', async () => {
  await assert.rejects(makeClient(BAD_KEY).customers.list(), (err) => {
    assert.ok(err instanceof Orb.OrbAuthenticationError, `got ${err?.constructor?.name}: ${err}`);
    assert.ok(err instanceof Orb.AuthenticationError);
    assert.equal(err.status, 401);
    return true;
  });
});

// --- subscriptions ----------------------------------------------------------------------------

test('a subscription is created, listed by customer, fetched and cancelled', async () => {
  const { client } = account();
  const customer = await newCustomer(client);
  const other = await newCustomer(client);
  const created = await client.subscriptions.create({ customer_id: customer.id, plan_id: 'plan_x' });
  assert.equal(created.status, 'active');
  assert.equal(created.plan?.id, 'plan_x');
  await client.subscriptions.create({ customer_id: other.id, plan_id: 'plan_x' });

  const listed = await collect(client.subscriptions.list({ customer_id: [customer.id] }));
  assert.deepEqual(
    listed.map((s) => s.id),
    [created.id],
  );
  assert.equal(listed[0].customer.id, customer.id);

  assert.equal((await client.subscriptions.fetch(created.id)).customer.id, customer.id);

  const cancelled = await client.subscriptions.cancel(created.id, { cancel_option: 'immediate' });
  assert.equal(cancelled.id, created.id);
  assert.equal(cancelled.status, 'ended');
  assert.ok(cancelled.end_date);
});

// --- invoices ---------------------------------------------------------------------------------

test('invoices are listed, fetched and marked paid', async () => {
  const { client } = account();
  const customer = await newCustomer(client);
  const draft = await newInvoice(client, customer.id);
  const issued = await issuedInvoice(client, customer.id);
  assert.equal(draft.total, '8.00');

  const fetched = await client.invoices.fetch(draft.id);
  assert.equal(fetched.id, draft.id);
  assert.equal(fetched.customer.id, customer.id);

  const ids = async (query) => (await collect(client.invoices.list(query))).map((i) => i.id);
  assert.deepEqual(await ids({ customer_id: customer.id }), [issued.id]);
  assert.deepEqual(
    new Set(await ids({ customer_id: customer.id, status: ['draft', 'issued'] })),
    new Set([draft.id, issued.id]),
  );

  const paid = await client.invoices.markPaid(issued.id, { payment_received_date: '2026-01-10' });
  assert.equal(paid.status, 'paid');
  assert.ok(paid.paid_at);
  assert.deepEqual(await ids({ customer_id: customer.id, status: ['paid'] }), [issued.id]);
});

// --- idempotency ------------------------------------------------------------------------------

test('an idempotent create retried with the same key replays the same customer', async () => {
  const { client } = account();
  const idempotencyKey = unique('idem');
  const body = { name: 'Ada', email: 'ada@example.com' };
  const first = await client.customers.create(body, { idempotencyKey }).withResponse();
  const second = await client.customers.create(body, { idempotencyKey }).withResponse();

  assert.equal(first.response.status, 201);
  assert.equal(second.response.status, 201);
  assert.equal(second.data.id, first.data.id);
  assert.equal(second.response.headers.get('idempotent-replayed'), 'true');
  assert.equal(first.response.headers.get('idempotent-replayed'), null);
  assert.equal(first.response.headers.get('idempotency-key'), idempotencyKey);
  assert.equal(second.response.headers.get('idempotency-key'), idempotencyKey);
  assert.deepEqual(
    (await collect(client.customers.list())).map((c) => c.id),
    [first.data.id],
  );
});

test('reusing an idempotency key with another payload raises ResourceConflict', async () => {
  const { client } = account();
  const idempotencyKey = unique('idem');
  await client.customers.create({ name: 'Ada', email: 'ada@example.com' }, { idempotencyKey });
  await assert.rejects(
    client.customers.create({ name: 'Grace', email: 'grace@example.com' }, { idempotencyKey }),
    Orb.ResourceConflict,
  );
});

// --- faults and the request journal -----------------------------------------------------------

test("a delete failing twice with 500 succeeds on the SDK's third attempt with one idempotency key", async () => {
  const { key, mock } = account();
  const client = makeClient(key, { maxRetries: 2 });
  const customer = await newCustomer(client);
  const rule = await mock.addFault({ method: 'DELETE', path: '/customers/*', status: 500, times: 2 });
  assert.ok(rule.id);

  await client.customers.delete(customer.id);

  const attempts = await mock.requests('DELETE', `/customers/${customer.id}`);
  assert.equal(attempts.length, 3, JSON.stringify(attempts));
  assert.deepEqual(attempts.map((a) => a.status).sort(), [204, 500, 500]);
  const keys = new Set(attempts.map((a) => a.headers['idempotency-key']));
  assert.equal(keys.size, 1);
  assert.ok([...keys][0], 'an idempotency-key header on every attempt');
});

test('a 429 with retry-after-ms is waited out and the retry succeeds', async () => {
  const { key, mock } = account();
  const client = makeClient(key, { maxRetries: 2 });
  await mock.addFault({
    method: 'POST',
    path: '/customers',
    status: 429,
    headers: { 'retry-after-ms': '50' },
    times: 1,
  });

  const customer = await newCustomer(client);
  assert.ok(customer.id);

  const attempts = await mock.requests('POST', '/customers');
  assert.deepEqual(attempts.map((a) => a.status).sort(), [201, 429]);
  assert.equal(new Set(attempts.map((a) => a.headers['idempotency-key'])).size, 1);
});

test('without retries an injected 500 raises OrbInternalServerError', async () => {
  const { client, mock } = account();
  await mock.addFault({ method: 'GET', path: '/customers', status: 500, times: 1 });
  await assert.rejects(client.customers.list(), Orb.OrbInternalServerError);
  assert.deepEqual((await client.customers.list()).data, []);
});

for (const [status, error] of [
  [401, Orb.OrbAuthenticationError],
  [409, Orb.ResourceConflict],
  [413, Orb.RequestTooLarge],
  [429, Orb.TooManyRequests],
  [500, Orb.OrbInternalServerError],
]) {
  test(`a Prefer: code=${status} header raises ${error.name}`, async () => {
    const { client } = account();
    await assert.rejects(client.customers.list({}, { headers: { Prefer: `code=${status}` } }), (err) => {
      assert.ok(err instanceof error, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, status);
      return true;
    });
  });
}

test('reset empties the account', async () => {
  const { client, mock } = account();
  await newCustomer(client);
  await mock.reset();
  assert.deepEqual((await client.customers.list()).data, []);
});
