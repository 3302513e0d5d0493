// Shared set-up for the Node SDK fidelity suite.
//
// run.sh starts orb-mock and exports:
//   ORB_MOCK_URL       http://127.0.0.1:PORT (no /v1)
//   ORB_MOCK_SDK_KEYS  comma-separated API keys the server accepts, one fresh account per test
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Orb from 'orb-billing';

export const BASE_URL = (process.env.ORB_MOCK_URL ?? 'http://127.0.0.1:4010').replace(/\/+$/, '');
const KEYS = (process.env.ORB_MOCK_SDK_KEYS ?? '').split(',').filter(Boolean);

// `node --test` runs each test file in a process of its own, with its own copy of this module, so
// a counter here alone would hand the same keys to every file, and their tests would share
// accounts. Each file therefore takes keys from its own block: the list split evenly between the
// test files, in name order. (Run any other way, the whole list is this process's.)
const TEST_FILES = readdirSync(dirname(fileURLToPath(import.meta.url)))
  .filter((name) => name.endsWith('.test.mjs'))
  .sort();
const FILE_INDEX = TEST_FILES.indexOf(basename(process.argv[1] ?? ''));
const BLOCK = Math.floor(KEYS.length / TEST_FILES.length);
const FILE_KEYS = FILE_INDEX < 0 ? KEYS : KEYS.slice(FILE_INDEX * BLOCK, (FILE_INDEX + 1) * BLOCK);
let nextKey = 0;

// A key the server was not started with (run.sh passes --api-keys).
export const BAD_KEY = 'sk_test_sdk_not_a_key';

/** A fresh account: an API key no other test in this run has used. */
export function freshKey() {
  if (nextKey >= FILE_KEYS.length) {
    throw new Error(
      `ORB_MOCK_SDK_KEYS ran out (${FILE_KEYS.length} keys for this file, ${KEYS.length} in all); ` +
        'start orb-mock with more keys (KEY_COUNT in run.sh)',
    );
  }
  return FILE_KEYS[nextKey++];
}

export function makeClient(apiKey, { maxRetries = 0 } = {}) {
  return new Orb({ apiKey, baseURL: `${BASE_URL}/v1`, maxRetries });
}

/** Plain-HTTP access to orb-mock's control surface (/_mock/...), for one account. */
export class Mock {
  constructor(key) {
    this.key = key;
  }

  async call(method, path, body) {
    const res = await fetch(`${BASE_URL}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${this.key}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null, text };
  }

  /** Call a control route and insist it exists and succeeded; return its JSON (or null). */
  async ok(method, path, body) {
    const r = await this.call(method, path, body);
    assert.ok(
      r.status < 300,
      `${method} ${path} -> ${r.status} ${r.text}` +
        (r.status === 404 ? '  (control route not implemented by this orb-mock yet?)' : ''),
    );
    return r.json;
  }

  reset() {
    return this.ok('POST', '/_mock/reset');
  }

  addFault(rule) {
    return this.ok('POST', '/_mock/faults', rule);
  }

  async requests(method, path) {
    const q = new URLSearchParams({ method, path });
    return (await this.ok('GET', `/_mock/requests?${q}`)).data;
  }

  completeDeletion(customerId) {
    return this.ok('POST', '/_mock/deletions/complete', { customer_id: customerId });
  }
}

/** A fresh account with a strict-as-possible client (no retries) and its control surface. */
export function account() {
  const key = freshKey();
  return { key, client: makeClient(key), mock: new Mock(key) };
}

export const unique = (prefix) => `${prefix}-${randomUUID().slice(0, 12)}`;

export const LINE_ITEM = {
  name: 'Seat',
  quantity: 2,
  unit_config: { unit_amount: '4.00' },
  start_date: '2026-01-01',
  end_date: '2026-01-31',
  item_id: 'item_seat',
  model_type: 'unit',
};

export function newCustomer(client, extra = {}) {
  return client.customers.create({ name: 'Ada Lovelace', email: 'ada@example.com', ...extra });
}

export function newInvoice(client, customerId) {
  return client.invoices.create({
    customer_id: customerId,
    currency: 'USD',
    invoice_date: '2026-01-05T10:00:00+00:00',
    line_items: [LINE_ITEM],
  });
}

export async function issuedInvoice(client, customerId) {
  const invoice = await newInvoice(client, customerId);
  assert.equal(invoice.status, 'draft');
  const issued = await client.invoices.issue(invoice.id);
  assert.equal(issued.status, 'issued');
  return issued;
}

/** Every item of an auto-paginated list. */
export async function collect(list) {
  const out = [];
  for await (const item of list) out.push(item);
  return out;
}
