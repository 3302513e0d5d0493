// orb-mock's webhooks, received in this process and read with the official Node SDK.
//
// A receiver (node:http on a free port) records the raw body and the headers of each delivery.
// Two endpoints are created, one per payload style, and a real scenario runs through the SDK
// (customers, invoices, subscriptions). After POST /_mock/webhooks/flush each endpoint must have
// received exactly the events of those changes, in order, signed with its secret.
//
// orb-billing 6.11.0 has `client.webhooks.unwrap(body, headers, secret)` only: it checks the
// signature and JSON.parses the body whatever its payload_style (there is no standard variant and
// no payload-style check), it has no webhook event types and no `webhook_endpoints` resource. So
// these tests check the bodies' shapes themselves, and call the endpoint routes with the client's
// generic methods (client.post/get/put/delete), which send what the SDK's resources send.
// Each test runs in its own account (a fresh API key, see helpers.mjs); the tests that only read
// the scenario's deliveries share one account and one run of it (scenario()).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { test } from 'node:test';
import Orb from 'orb-billing';

import { LINE_ITEM, account } from './helpers.mjs';

// The events of the scenario below, in the order of its changes.
const SCENARIO_EVENTS = [
  'customer.created',
  'customer.edited',
  'invoice.issued', // created with will_auto_issue
  'invoice.issued', // created as a draft, then issued
  'invoice.manually_marked_as_void',
  'invoice.manually_marked_as_paid',
  'subscription.created',
  'subscription.started',
  'subscription.ended', // cancelled immediately
  'subscription.created',
  'subscription.started',
  'subscription.cancellation_scheduled', // cancelled at the end of the term
];

const NO_MATCH = /None of the given webhook signatures match/;

// --- the receiver -----------------------------------------------------------------------------

/**
 * A webhook receiver in this process: records each POST (path, raw body as a string, headers)
 * and answers 200, or first, in turn, each status of `failWith`.
 */
async function startReceiver({ failWith = [] } = {}) {
  const deliveries = [];
  const statuses = [...failWith];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      deliveries.push({ path: req.url, body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      res.writeHead(statuses.length ? statuses.shift() : 200, { 'Content-Length': '0' }).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    deliveries,
    url: (path = '/') => `http://127.0.0.1:${port}${path}`,
    at: (path) => deliveries.filter((d) => d.path === path),
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

const flush = (mock) => mock.ok('POST', '/_mock/webhooks/flush');

/** Every event the account emitted, oldest first (the route lists newest first). */
async function events(mock) {
  return (await mock.ok('GET', '/_mock/webhooks/events?limit=100')).data.reverse();
}

const createEndpoint = (client, body) => client.post('/webhook_endpoints', { body });

/** The key the event's resource is under: customer.edited -> customer. */
const resourceKey = (type) => type.split('.')[0];

/**
 * What the API answered. Subscription writes answer a MutatedSubscription: the Subscription plus
 * `changed_resources`, which is about the request, not the subscription (an event carries a
 * Subscription), so that key is left out.
 */
function apiObject(answer) {
  const { changed_resources, ...rest } = answer;
  return rest;
}

// --- the scenario -----------------------------------------------------------------------------

let scenarioRun;
/** One run of the scenario, shared by the tests that read its deliveries. */
function scenario() {
  scenarioRun ??= runScenario();
  return scenarioRun;
}

async function runScenario() {
  const { client, mock } = account();
  const receiver = await startReceiver();
  try {
    const expanded = await createEndpoint(client, { url: receiver.url('/expanded'), payload_style: 'expanded' });
    const standard = await createEndpoint(client, { url: receiver.url('/standard'), payload_style: 'standard' });
    assert.deepEqual([expanded.payload_style, standard.payload_style], ['expanded', 'standard']);

    // What the API answered for the change behind each of SCENARIO_EVENTS, in order.
    const api = [];
    const customer = await client.customers.create({ name: 'Ada Lovelace', email: 'ada@example.com' });
    api.push(customer);
    api.push(await client.customers.update(customer.id, { name: 'Ada King' }));

    const invoice = {
      customer_id: customer.id,
      currency: 'USD',
      invoice_date: '2026-01-05T10:00:00+00:00',
      line_items: [LINE_ITEM],
    };
    const auto = await client.invoices.create({ ...invoice, will_auto_issue: true });
    assert.equal(auto.status, 'issued');
    api.push(auto);
    const draft = await client.invoices.create(invoice);
    assert.equal(draft.status, 'draft');
    const issued = await client.invoices.issue(draft.id);
    api.push(issued);
    api.push(await client.invoices.void(auto.id));
    api.push(
      await client.invoices.markPaid(issued.id, {
        payment_received_date: '2026-01-10',
        external_id: 'wire-42',
        notes: 'paid by wire',
      }),
    );

    const ended = apiObject(await client.subscriptions.create({ customer_id: customer.id, plan_id: 'plan_x' }));
    api.push(ended, ended); // subscription.created, subscription.started
    api.push(apiObject(await client.subscriptions.cancel(ended.id, { cancel_option: 'immediate' })));
    const scheduled = apiObject(await client.subscriptions.create({ customer_id: customer.id, plan_id: 'plan_x' }));
    api.push(scheduled, scheduled);
    api.push(
      apiObject(await client.subscriptions.cancel(scheduled.id, { cancel_option: 'end_of_subscription_term' })),
    );

    await flush(mock);
    return {
      client,
      mock,
      expanded,
      standard,
      expandedDeliveries: receiver.at('/expanded'),
      standardDeliveries: receiver.at('/standard'),
      api,
    };
  } finally {
    await receiver.close();
  }
}

// --- deliveries -------------------------------------------------------------------------------

test('each endpoint receives the scenario’s events once each, in the order of the changes', async () => {
  const s = await scenario();
  const expanded = s.expandedDeliveries.map((d) => JSON.parse(d.body));
  const standard = s.standardDeliveries.map((d) => JSON.parse(d.body));
  assert.deepEqual(expanded.map((e) => e.type), SCENARIO_EVENTS);
  assert.deepEqual(standard.map((e) => e.type), SCENARIO_EVENTS);
  assert.ok(expanded.every((e) => e.payload_style === 'expanded'));
  assert.ok(standard.every((e) => e.payload_style === 'standard'));

  // One event per change, sent to both endpoints under the same id, each rendered in its style.
  const ids = expanded.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual(standard.map((e) => e.id), ids);
  assert.deepEqual(standard.map((e) => e.created_at), expanded.map((e) => e.created_at));

  // The control routes agree: the events (as expanded bodies) and one successful attempt each.
  assert.deepEqual(await events(s.mock), expanded);
  const attempts = (await s.mock.ok('GET', '/_mock/webhooks/deliveries?limit=100')).data.reverse();
  assert.equal(attempts.length, 2 * SCENARIO_EVENTS.length);
  for (const endpoint of [s.expanded, s.standard]) {
    const mine = attempts.filter((a) => a.endpoint_id === endpoint.id);
    assert.deepEqual(mine.map((a) => a.event_id), ids);
    for (const a of mine) {
      assert.deepEqual([a.url, a.attempt, a.status, a.succeeded, a.error], [endpoint.url, 1, 200, true, null]);
    }
  }
});

test('every body has id, created_at, type, properties, payload_style and its resource, and nothing else', async () => {
  const s = await scenario();
  for (const d of [...s.expandedDeliveries, ...s.standardDeliveries]) {
    const body = JSON.parse(d.body);
    const keys = ['created_at', 'id', 'payload_style', 'properties', resourceKey(body.type), 'type'].sort();
    assert.deepEqual(Object.keys(body).sort(), keys, body.type);
    assert.match(body.id, /^\S+$/);
    assert.match(body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/, 'created_at is to the second');
    assert.equal(typeof body.properties, 'object');
  }
});

test('webhooks.unwrap accepts every expanded body, which carries the object the API answered', async () => {
  const s = await scenario();
  const unwrapped = s.expandedDeliveries.map((d) => s.client.webhooks.unwrap(d.body, d.headers, s.expanded.secret));
  assert.deepEqual(unwrapped.map((e) => e.type), SCENARIO_EVENTS);
  assert.equal(unwrapped.length, s.api.length);
  unwrapped.forEach((event, i) => assert.deepEqual(event[resourceKey(event.type)], s.api[i], event.type));

  const [created, edited, auto, issued, voided, paid, , , ended, , , scheduled] = unwrapped;
  assert.deepEqual(created.properties, {});
  assert.equal(edited.customer.name, 'Ada King');
  assert.equal(edited.properties.previous_attributes.name, 'Ada Lovelace');
  for (const event of [auto, issued]) {
    assert.deepEqual(event.properties, { automatically_marked_as_paid: false });
    assert.equal(event.invoice.status, 'issued');
    assert.equal(event.invoice.line_items.length, 1);
  }
  assert.deepEqual([voided.invoice.id, voided.invoice.status], [auto.invoice.id, 'void']);
  assert.deepEqual([paid.invoice.id, paid.invoice.status], [issued.invoice.id, 'paid']);
  assert.equal(paid.properties.external_id, 'wire-42');
  assert.equal(paid.properties.notes, 'paid by wire');
  assert.equal(Date.parse(paid.properties.payment_received_date), Date.parse('2026-01-10T00:00:00Z'));
  assert.equal(ended.subscription.status, 'ended');
  assert.equal(scheduled.subscription.status, 'active');
  assert.equal(Date.parse(scheduled.properties.cancellation_date), Date.parse(scheduled.subscription.end_date));
});

test('webhooks.unwrap accepts every standard body, which carries own fields and references', async () => {
  const s = await scenario();
  const unwrapped = s.standardDeliveries.map((d) => s.client.webhooks.unwrap(d.body, d.headers, s.standard.secret));
  assert.deepEqual(unwrapped.map((e) => e.type), SCENARIO_EVENTS);
  assert.equal(unwrapped.length, s.api.length);
  unwrapped.forEach((event, i) => {
    const kind = resourceKey(event.type);
    const summary = event[kind];
    const full = s.api[i];
    if (kind === 'customer') {
      // The SDKs' standard customer events carry the full Customer.
      assert.deepEqual(summary, full, event.type);
      return;
    }
    for (const [name, value] of Object.entries(summary)) {
      assert.ok(name in full, `${event.type}: ${name} is not a field of the ${kind}`);
      if (name === 'customer') {
        assert.deepEqual(value, { id: full.customer.id, external_customer_id: full.customer.external_customer_id });
      } else if (name === 'plan') {
        const { id, external_plan_id, name: planName } = full.plan;
        assert.deepEqual(value, { id, external_plan_id, name: planName });
      } else {
        assert.deepEqual(value, full[name], `${event.type}: ${name}`);
      }
    }
    assert.ok(Object.keys(summary).length < Object.keys(full).length, `${event.type} is a summary`);
    assert.ok(!('line_items' in summary) && !('price_intervals' in summary), event.type);
  });
  assert.equal(unwrapped[1].properties.previous_attributes.name, 'Ada Lovelace');
  assert.equal(unwrapped[5].invoice.status, 'paid');
});

// --- refusals ---------------------------------------------------------------------------------

test('a tampered body, a tampered timestamp or a wrong secret is rejected', async () => {
  const s = await scenario();
  const { client } = s;
  const d = s.expandedDeliveries[1]; // customer.edited
  assert.equal(client.webhooks.unwrap(d.body, d.headers, s.expanded.secret).type, 'customer.edited');

  const tampered = d.body.replace('Ada King', 'Ada Kinf');
  assert.notEqual(tampered, d.body);
  assert.throws(() => client.webhooks.unwrap(tampered, d.headers, s.expanded.secret), NO_MATCH);

  // The timestamp is signed too: the same body a millisecond later is refused.
  const later = new Date(Date.parse(`${d.headers['x-orb-timestamp']}Z`) + 1).toISOString().replace('Z', '');
  assert.throws(
    () => client.webhooks.unwrap(d.body, { ...d.headers, 'x-orb-timestamp': later }, s.expanded.secret),
    NO_MATCH,
  );

  assert.throws(() => client.webhooks.unwrap(d.body, d.headers, s.standard.secret), NO_MATCH);
  assert.throws(() => client.webhooks.unwrap(d.body, d.headers, 'not-the-secret'), NO_MATCH);
  const std = s.standardDeliveries[0];
  assert.throws(
    () =>
      client.webhooks.unwrap(std.body.replace('ada@example.com', 'eve@example.com'), std.headers, s.standard.secret),
    NO_MATCH,
  );
});

// --- signature and timestamp ------------------------------------------------------------------

test('the signature is v1= hex HMAC-SHA256 of "v1:{timestamp}:{body}" keyed with the endpoint’s secret', async () => {
  const s = await scenario();
  for (const [endpoint, deliveries] of [
    [s.expanded, s.expandedDeliveries],
    [s.standard, s.standardDeliveries],
  ]) {
    for (const d of deliveries) {
      assert.equal(d.headers['content-type'], 'application/json');
      const mac = createHmac('sha256', endpoint.secret)
        .update(`v1:${d.headers['x-orb-timestamp']}:${d.body}`)
        .digest('hex');
      assert.equal(d.headers['x-orb-signature'], `v1=${mac}`);
    }
  }
});

// The Go SDK parses X-Orb-Timestamp with the layout 2006-01-02T15:04:05.999999999, which has no
// zone: a "Z" or an offset would make it fail.
test('X-Orb-Timestamp is zone-less UTC with milliseconds, as the Go SDK’s layout needs', async () => {
  const s = await scenario();
  for (const d of [...s.expandedDeliveries, ...s.standardDeliveries]) {
    const stamp = d.headers['x-orb-timestamp'];
    assert.ok(!stamp.includes('Z') && !stamp.includes('+'), stamp);
    assert.match(stamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/);
    // The Node SDK reads a zone-less timestamp as UTC by appending "Z".
    const age = Date.now() - Date.parse(`${stamp}Z`);
    assert.ok(Math.abs(age) < 120_000, `${stamp} is not UTC now (${new Date().toISOString()})`);
  }
});

// --- endpoints, filters and events ------------------------------------------------------------

test('the webhook endpoint routes work through the client, and only create returns the secret', async () => {
  const { client } = account();
  const createdRes = await client
    .post('/webhook_endpoints', { body: { url: 'https://example.com/orb', enabled_event_types: ['customer.created'] } })
    .withResponse();
  assert.equal(createdRes.response.status, 201);
  const created = createdRes.data;
  assert.equal(typeof created.secret, 'string');
  assert.ok(created.secret.length > 0);
  assert.deepEqual(Object.keys(created).sort(), [
    'created_at',
    'enabled',
    'enabled_event_types',
    'id',
    'payload_style',
    'secret',
    'url',
  ]);
  assert.deepEqual(
    [created.url, created.enabled, created.payload_style, created.enabled_event_types],
    ['https://example.com/orb', true, 'expanded', ['customer.created']],
  );
  const other = await createEndpoint(client, { url: 'https://example.com/other' });
  assert.equal(other.enabled_event_types, null); // every event type
  assert.notEqual(other.secret, created.secret);

  const { secret, ...withoutSecret } = created;
  /** The raw answer: no secret in its text; its parsed JSON. */
  async function noSecret(promise, status = 200) {
    const res = await promise.asResponse();
    assert.equal(res.status, status);
    const text = await res.text();
    assert.ok(!text.includes('secret'), text);
    return JSON.parse(text);
  }
  const path = `/webhook_endpoints/${created.id}`;

  assert.deepEqual(await noSecret(client.get(path)), withoutSecret);

  const updated = await noSecret(
    client.put(path, {
      body: { payload_style: 'standard', enabled_event_types: ['invoice.issued', 'customer.edited'] },
    }),
  );
  assert.deepEqual(updated, {
    ...withoutSecret,
    payload_style: 'standard',
    enabled_event_types: ['invoice.issued', 'customer.edited'],
  });

  const page = await noSecret(client.get('/webhook_endpoints'));
  assert.deepEqual(page.data.map((e) => e.id), [other.id, created.id]); // newest first
  assert.deepEqual(page.data[1], updated);
  assert.deepEqual(page.pagination_metadata, { has_more: false, next_cursor: null });
  const first = await client.get('/webhook_endpoints', { query: { limit: 1 } });
  assert.deepEqual(first.data.map((e) => e.id), [other.id]);
  assert.equal(first.pagination_metadata.has_more, true);

  assert.equal((await noSecret(client.post(`${path}/disable`))).enabled, false);
  assert.equal((await client.get(path)).enabled, false);
  const enabled = await noSecret(client.post(`${path}/enable`));
  assert.deepEqual(enabled, updated);

  const deleted = await client.delete(path).asResponse();
  assert.equal(deleted.status, 204);
  assert.equal(await deleted.text(), '');
  await assert.rejects(client.get(path), Orb.ResourceNotFound);
  assert.deepEqual((await client.get('/webhook_endpoints')).data.map((e) => e.id), [other.id]);
});

test('an endpoint gets only its enabled event types, and a disabled one gets nothing', async () => {
  const { client, mock } = account();
  const receiver = await startReceiver();
  try {
    const edits = await createEndpoint(client, {
      url: receiver.url('/edits'),
      enabled_event_types: ['customer.edited'],
    });
    const off = await createEndpoint(client, { url: receiver.url('/off') });
    await client.post(`/webhook_endpoints/${off.id}/disable`);

    const customer = await client.customers.create({ name: 'Ada Lovelace', email: 'ada@example.com' });
    await client.customers.update(customer.id, { name: 'Ada King' });
    await flush(mock);
    assert.deepEqual(
      receiver.at('/edits').map((d) => client.webhooks.unwrap(d.body, d.headers, edits.secret).type),
      ['customer.edited'],
    );
    assert.deepEqual(receiver.at('/off'), []);
    // The account emitted both events; the endpoints chose what they were sent.
    assert.deepEqual((await events(mock)).map((e) => e.type), ['customer.created', 'customer.edited']);

    await client.post(`/webhook_endpoints/${off.id}/enable`);
    await client.customers.update(customer.id, { name: 'Ada Lovelace' });
    await flush(mock);
    assert.deepEqual(receiver.at('/off').map((d) => JSON.parse(d.body).type), ['customer.edited']);
    assert.equal(receiver.at('/edits').length, 2);
  } finally {
    await receiver.close();
  }
});

test('deleting a customer emits no event', async () => {
  const { client, mock } = account();
  const receiver = await startReceiver();
  try {
    await createEndpoint(client, { url: receiver.url('/orb') });
    const customer = await client.customers.create({ name: 'Ada Lovelace', email: 'ada@example.com' });
    await client.customers.delete(customer.id);
    await mock.completeDeletion(customer.id);
    await flush(mock);
    assert.deepEqual(receiver.deliveries.map((d) => JSON.parse(d.body).type), ['customer.created']);
    assert.deepEqual((await events(mock)).map((e) => e.type), ['customer.created']);
  } finally {
    await receiver.close();
  }
});

// --- retries ----------------------------------------------------------------------------------

// run.sh starts orb-mock with --webhook-retry-base 10ms, so one flush sees the retries.
test('a receiver that fails twice gets the same event three times, and each attempt is recorded', async () => {
  const { client, mock } = account();
  const receiver = await startReceiver({ failWith: [500, 500] });
  let endpoint;
  let eventId;
  try {
    endpoint = await createEndpoint(client, { url: receiver.url('/flaky') });
    await client.customers.create({ name: 'Ada Lovelace', email: 'ada@example.com' });
    await flush(mock);

    const bodies = receiver.deliveries.map((d) => JSON.parse(d.body));
    assert.deepEqual(bodies.map((b) => b.type), Array(3).fill('customer.created'));
    eventId = bodies[0].id;
    assert.deepEqual(new Set(bodies.map((b) => b.id)), new Set([eventId]));
    // Each attempt is signed afresh, and each is a valid delivery on its own.
    for (const d of receiver.deliveries) {
      assert.equal(client.webhooks.unwrap(d.body, d.headers, endpoint.secret).id, eventId);
    }
  } finally {
    await receiver.close();
  }

  const attempts = (await mock.ok('GET', `/_mock/webhooks/deliveries?event_id=${eventId}`)).data.reverse();
  assert.deepEqual(
    attempts.map((a) => [a.attempt, a.status, a.succeeded]),
    [
      [1, 500, false],
      [2, 500, false],
      [3, 200, true],
    ],
  );
  for (const a of attempts) {
    assert.deepEqual([a.event_id, a.endpoint_id, a.url], [eventId, endpoint.id, endpoint.url]);
  }
  assert.ok(attempts[0].error);
  assert.equal(attempts[2].error, null);
});
