// The npm kit as a user gets it (installed from its packed tarballs with --ignore-scripts), run
// by vitest: the package's globalSetup example starts one orb-mock for the run, startOrbMock()
// attaches to it, and startOrbMock() and the Node SDK run the deletion story, a fault and its
// retry, and the journal. Run by tests/kits/node.sh in a scratch project.
import { execFileSync } from 'node:child_process';
import Orb from 'orb-billing';
import { OrbMockError, startOrbMock } from 'orb-mock';
import { afterAll, afterEach, beforeAll, expect, inject, test, vi } from 'vitest';

let mock;
beforeAll(async () => {
  mock = await startOrbMock();
});
afterAll(async () => {
  await mock?.stop();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

test('the orb-mock command runs the platform package executable', () => {
  const version = execFileSync('npx', ['--no-install', 'orb-mock', '--version'], { encoding: 'utf8' });
  expect(version).toMatch(/^orb-mock \d+\.\d+\.\d+/);
});

test('the globalSetup example starts one orb-mock and startOrbMock attaches to it', async () => {
  expect(inject('orbMockURL')).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(process.env.ORB_MOCK_URL).toBe(inject('orbMockURL'));
  expect(mock.attached).toBe(true);
  expect(mock.url).toBe(inject('orbMockURL'));
  expect((await fetch(`${mock.url}/_mock/health`)).status).toBe(200);
});

test('startOrbMock starts orb-mock on the port its ready line names', async () => {
  vi.stubEnv('ORB_MOCK_URL', undefined);
  const own = await startOrbMock();
  try {
    expect(own.attached).toBe(false);
    expect(own.ready.event).toBe('listening');
    expect(own.url).toBe(own.ready.url);
    expect(own.baseURL).toBe(`${own.ready.url}/v1`);
    expect(own.url).not.toBe(mock.url);
    expect((await fetch(`${own.url}/_mock/health`)).status).toBe(200);
  } finally {
    await own.stop();
  }
  await expect(fetch(`${own.url}/_mock/health`)).rejects.toThrow();
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

  await expect(client.customers.delete(customer.id)).rejects.toMatchObject({
    status: 400,
    error: { type: expect.stringMatching(/constraint-violation/) },
  });
  await client.invoices.void(invoice.id);
  await account.setDeletionDelay('1h');
  await client.customers.delete(customer.id);
  const [deletion] = await account.deletions();
  expect([deletion.customer_id, deletion.state]).toEqual([customer.id, 'pending']);
  const completed = await account.completeDeletions(customer.id);
  expect(completed.completed).toBe(1);
  await expect(client.customers.fetch(customer.id)).rejects.toMatchObject({ status: 404 });
  const deletes = await account.journal({ method: 'DELETE', path: '/customers' });
  expect(deletes.map((entry) => entry.status)).toEqual([204, 400]);
});

test('a fault fires once and the SDK retries it', async () => {
  const account = mock.account();
  const rule = await account.addFault({ method: 'POST', path: '/customers', status: 429,
    headers: { 'retry-after-ms': '10' }, times: 1 });
  const client = new Orb({ apiKey: account.apiKey, baseURL: account.baseURL, maxRetries: 2 });
  const customer = await client.customers.create({ name: 'Bo', email: 'bo@example.com' });
  expect(customer.name).toBe('Bo');
  const [counted] = await account.faults();
  expect([counted.id, counted.fired]).toEqual([rule.id, 1]);
  const sent = await account.journal({ method: 'POST', path: '/customers' });
  expect(sent.map((entry) => entry.status)).toEqual([201, 429]);
  await account.clearFaults();
  await account.clearJournal();
  expect([await account.faults(), await account.journal()]).toEqual([[], []]);
});

test('accounts are fresh and a control error carries the Orb error body', async () => {
  const account = mock.account();
  const other = mock.account();
  expect(account.apiKey).not.toBe(other.apiKey);
  const loaded = await account.loadFixtures({ customers: [{ id: 'fixed', name: 'F', email: 'f@example.com' }] });
  expect(loaded.customers).toEqual(['fixed']);
  const client = new Orb({ apiKey: other.apiKey, baseURL: other.baseURL });
  expect((await client.customers.list()).data).toEqual([]);
  await account.reset();
  const refused = account.completeDeletions('no_such_customer');
  await expect(refused).rejects.toBeInstanceOf(OrbMockError);
  await expect(refused).rejects.toMatchObject({ status: 404 });
});

test('startOrbMock attaches to ORB_MOCK_URL and leaves that server running', async () => {
  const attached = await startOrbMock({ url: mock.url });
  expect(attached.attached).toBe(true);
  await attached.stop();
  expect((await fetch(`${mock.url}/_mock/health`)).status).toBe(200);
});
