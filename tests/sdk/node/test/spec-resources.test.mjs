// The Node SDK's resources that orb-mock does not model, answered from Orb's document (`--spec`).
// run.sh starts orb-mock with `--spec` Orb's OpenAPI document and exports ORB_MOCK_SDK_SPEC=1.
// One method of each resource and sub-resource below is called with valid minimal arguments; on
// the modelled resources (customers, invoices, subscriptions) a method orb-mock does not model.
// The Node SDK does not validate response shapes, so each answer is checked for the shape its
// type names, and for `X-Orb-Mock-Source: spec`. Ids the store holds are created first through
// the modelled API: a spec route under a modelled resource answers 404 for ids it does not hold.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { account, makeClient, newCustomer, newInvoice, unique } from './helpers.mjs';

const SPEC = process.env.ORB_MOCK_SDK_SPEC === '1';

const isPage = (page) => {
  assert.ok(Array.isArray(page.data), 'a page has data[]');
  assert.equal(page.pagination_metadata.has_more, false);
  assert.equal(page.pagination_metadata.next_cursor, null);
};
const hasId = (id) => (body) => {
  assert.equal(typeof body.id, 'string');
  if (id !== undefined) assert.equal(body.id, id);
};
const isObject = (body) => assert.ok(body !== null && typeof body === 'object' && !Array.isArray(body));

// [resource path, method, call(world), check(body, world)]
const CASES = [
  ['alerts', 'list', (w) => w.client.alerts.list(), isPage],
  ['beta', 'fetchPlanVersion', (w) => w.client.beta.fetchPlanVersion('1', { plan_id: 'plan_sdk' }), isObject],
  [
    'beta.externalPlanID',
    'fetchPlanVersion',
    (w) => w.client.beta.externalPlanID.fetchPlanVersion('1', { external_plan_id: 'ext_plan_sdk' }),
    isObject,
  ],
  ['coupons', 'list', (w) => w.client.coupons.list(), isPage],
  ['coupons.subscriptions', 'list', (w) => w.client.coupons.subscriptions.list('coupon_sdk'), isPage],
  ['creditBlocks', 'retrieve', (w) => w.client.creditBlocks.retrieve('block_sdk'), hasId('block_sdk')],
  ['creditNotes', 'list', (w) => w.client.creditNotes.list(), isPage],
  [
    'customers',
    'createPortalSession',
    (w) => w.client.customers.createPortalSession(w.customerId),
    isObject,
  ],
  [
    'customers.balanceTransactions',
    'list',
    (w) => w.client.customers.balanceTransactions.list(w.customerId),
    isPage,
  ],
  ['customers.costs', 'list', (w) => w.client.customers.costs.list(w.customerId), (b) => assert.ok(Array.isArray(b.data))],
  ['customers.credits', 'list', (w) => w.client.customers.credits.list(w.customerId), isPage],
  [
    'customers.credits.ledger',
    'createEntry',
    (w) => w.client.customers.credits.ledger.createEntry(w.customerId, { amount: 10, entry_type: 'increment' }),
    (b, w) => {
      hasId()(b);
      assert.equal(b.customer.id, w.customerId);
    },
  ],
  ['customers.credits.topUps', 'list', (w) => w.client.customers.credits.topUps.list(w.customerId), isPage],
  ['dimensionalPriceGroups', 'list', (w) => w.client.dimensionalPriceGroups.list(), isPage],
  [
    'dimensionalPriceGroups.externalDimensionalPriceGroupID',
    'retrieve',
    (w) => w.client.dimensionalPriceGroups.externalDimensionalPriceGroupID.retrieve('ext_dpg_sdk'),
    hasId(),
  ],
  [
    'events',
    'ingest',
    (w) =>
      w.client.events.ingest({
        events: [
          {
            event_name: 'api_call',
            idempotency_key: unique('evt'),
            properties: { region: 'eu' },
            timestamp: '2026-01-05T10:00:00Z',
            customer_id: w.customerId,
          },
        ],
      }),
    isObject,
  ],
  ['events.backfills', 'list', (w) => w.client.events.backfills.list(), isPage],
  [
    'events.volume',
    'list',
    (w) => w.client.events.volume.list({ timeframe_start: '2026-01-01T00:00:00Z' }),
    (b) => assert.ok(Array.isArray(b.data)),
  ],
  [
    'invoiceLineItems',
    'create',
    (w) =>
      w.client.invoiceLineItems.create({
        amount: '12.00',
        end_date: '2026-01-31',
        invoice_id: w.invoiceId,
        name: 'Setup',
        quantity: 1,
        start_date: '2026-01-01',
      }),
    hasId(),
  ],
  [
    'invoices',
    'fetchUpcoming',
    (w) => w.client.invoices.fetchUpcoming({ subscription_id: w.subscriptionId }),
    isObject,
  ],
  ['items', 'list', (w) => w.client.items.list(), isPage],
  ['licenseTypes', 'list', (w) => w.client.licenseTypes.list(), isPage],
  ['licenses', 'list', (w) => w.client.licenses.list({ subscription_id: w.subscriptionId }), isPage],
  ['metrics', 'list', (w) => w.client.metrics.list(), isPage],
  ['plans', 'list', (w) => w.client.plans.list(), isPage],
  ['plans.externalPlanID', 'fetch', (w) => w.client.plans.externalPlanID.fetch('ext_plan_sdk'), hasId()],
  ['plans.migrations', 'list', (w) => w.client.plans.migrations.list('plan_sdk'), isPage],
  [
    'prices',
    'create',
    (w) =>
      w.client.prices.create({
        cadence: 'monthly',
        currency: 'USD',
        item_id: 'item_seat',
        model_type: 'unit',
        name: 'Seat',
        unit_config: { unit_amount: '4.00' },
      }),
    hasId(),
  ],
  ['prices.externalPriceID', 'fetch', (w) => w.client.prices.externalPriceID.fetch('ext_price_sdk'), hasId()],
  ['subscriptionChanges', 'list', (w) => w.client.subscriptionChanges.list(), isPage],
  [
    'subscriptions',
    'fetchCosts',
    (w) => w.client.subscriptions.fetchCosts(w.subscriptionId),
    (b) => assert.ok(Array.isArray(b.data)),
  ],
  ['topLevel', 'ping', (w) => w.client.topLevel.ping(), (b) => assert.equal(typeof b.response, 'string')],
];

function resolve(client, path) {
  return path.split('.').reduce((o, part) => o[part], client);
}

describe('SDK resources answered from Orb\'s document (--spec)', { skip: !SPEC && 'orb-mock was not started with --spec' }, () => {
  const world = {};

  before(async () => {
    const { client } = account();
    const customer = await newCustomer(client, { external_customer_id: unique('ext') });
    const subscription = await client.subscriptions.create({
      customer_id: customer.id,
      plan_id: 'plan_sdk',
      start_date: '2026-01-01',
    });
    const invoice = await newInvoice(client, customer.id);
    Object.assign(world, {
      client,
      customerId: customer.id,
      subscriptionId: subscription.id,
      invoiceId: invoice.id,
    });
  });

  test('the sample spans at least 20 resources and names only SDK methods', () => {
    const client = makeClient('sk_unused');
    const resources = new Set(CASES.map(([path]) => path));
    assert.ok(resources.size >= 20, `${resources.size} resources`);
    for (const [path, method] of CASES) {
      assert.equal(typeof resolve(client, path)?.[method], 'function', `${path}.${method}`);
    }
  });

  for (const [path, method, call, check] of CASES) {
    test(`${path}.${method} answers from the document with its type's shape`, async () => {
      const { data, response } = await call(world).withResponse();
      assert.equal(response.headers.get('x-orb-mock-source'), 'spec');
      check(data, world);
    });
  }
});
