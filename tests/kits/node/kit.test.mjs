// The npm kit as a user gets it (installed from its packed tarballs with --ignore-scripts):
// startOrbMock() and the Node SDK run the deletion story, a fault and its retry, and the journal.
// Run by tests/kits/node.sh in a scratch project.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import Orb from 'orb-billing';
import { OrbMockError, startOrbMock } from 'orb-mock';

let mock;
before(async () => {
  mock = await startOrbMock();
});
after(async () => {
  await mock?.stop();
});

test('the orb-mock command runs the platform package executable', () => {
  const version = execFileSync('npx', ['--no-install', 'orb-mock', '--version'], { encoding: 'utf8' });
  assert.match(version, /^orb-mock \d+\.\d+\.\d+/);
});

test('startOrbMock starts orb-mock on the port its ready line names', () => {
  assert.equal(mock.attached, false);
  assert.equal(mock.ready.event, 'listening');
  assert.equal(mock.url, mock.ready.url);
  assert.equal(mock.baseURL, `${mock.ready.url}/v1`);
});

test('a customer with an issued invoice is deleted once the invoice is void', async () => {
  const account = mock.account();
  const client = new Orb({ apiKey: account.apiKey, baseURL: account.baseURL, maxRetries: 0 });
  const customer = await client.customers.create({ name: 'Ada', email: 'ada@example.com' });
  const invoice = await client.invoices.create({
    currency: 'USD',
    customer_id: customer.id,
    invoice_date: '2026-01-01',
    net_terms: 0,
    line_items: [{ name: 'Seat', quantity: 1, unit_config: { unit_amount: '10.00' }, start_date: '2026-01-01',
      end_date: '2026-01-31', item_id: 'item_seat', model_type: 'unit' }],
  });
  await client.invoices.issue(invoice.id);

  await assert.rejects(client.customers.delete(customer.id), (err) => {
    assert.equal(err.status, 400);
    assert.match(err.error.type, /constraint-violation/);
    return true;
  });
  await client.invoices.void(invoice.id);
  await account.setDeletionDelay('1h');
  await client.customers.delete(customer.id);
  const [deletion] = await account.deletions();
  assert.deepEqual([deletion.customer_id, deletion.state], [customer.id, 'pending']);
  const completed = await account.completeDeletions(customer.id);
  assert.equal(completed.completed, 1);
  await assert.rejects(client.customers.fetch(customer.id), (err) => err.status === 404);
  const deletes = await account.journal({ method: 'DELETE', path: '/customers' });
  assert.deepEqual(deletes.map((entry) => entry.status), [204, 400]);
});

test('a fault fires once and the SDK retries it', async () => {
  const account = mock.account();
  const rule = await account.addFault({ method: 'POST', path: '/customers', status: 429,
    headers: { 'retry-after-ms': '10' }, times: 1 });
  const client = new Orb({ apiKey: account.apiKey, baseURL: account.baseURL, maxRetries: 2 });
  const customer = await client.customers.create({ name: 'Bo', email: 'bo@example.com' });
  assert.equal(customer.name, 'Bo');
  const [counted] = await account.faults();
  assert.deepEqual([counted.id, counted.fired], [rule.id, 1]);
  const sent = await account.journal({ method: 'POST', path: '/customers' });
  assert.deepEqual(sent.map((entry) => entry.status), [201, 429]);
  await account.clearFaults();
  await account.clearJournal();
  assert.deepEqual([await account.faults(), await account.journal()], [[], []]);
});

test('accounts are fresh and a control error carries the Orb error body', async () => {
  const account = mock.account();
  const other = mock.account();
  assert.notEqual(account.apiKey, other.apiKey);
  const loaded = await account.loadFixtures({ customers: [{ id: 'fixed', name: 'F', email: 'f@example.com' }] });
  assert.deepEqual(loaded.customers, ['fixed']);
  const client = new Orb({ apiKey: other.apiKey, baseURL: other.baseURL });
  assert.deepEqual((await client.customers.list()).data, []);
  await account.reset();
  await assert.rejects(account.completeDeletions('no_such_customer'), (err) => {
    assert.ok(err instanceof OrbMockError);
    assert.equal(err.status, 404);
    return true;
  });
});

test('startOrbMock attaches to ORB_MOCK_URL and leaves that server running', async () => {
  const attached = await startOrbMock({ url: mock.url });
  assert.equal(attached.attached, true);
  await attached.stop();
  assert.equal((await fetch(`${mock.url}/_mock/health`)).status, 200);
});
