"""Every SDK resource orb-mock does not model, answered from Orb's document (`--spec`).

run.sh starts orb-mock with `--spec` Orb's OpenAPI document and exports ORB_MOCK_SDK_SPEC=1.
For each resource and sub-resource of the client (found by walking it, so a resource a new SDK
adds fails `test_every_sdk_resource_is_covered_or_excluded` until it is listed here), one method
is called with valid minimal arguments through a strict client, and its answer must parse to the
type the SDK annotates the method with. On the modelled resources (customers, invoices,
subscriptions) the method is one orb-mock does not model. Ids the store holds (a customer, a
subscription, an invoice) are created through the modelled API first, since a spec route under a
modelled resource answers 404 for ids the store does not hold.
"""

from __future__ import annotations

import os
import typing
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import orb
import pytest
from orb._models import validate_type
from orb._resource import SyncAPIResource
from orb.pagination import SyncPage

from conftest import fresh_key, make_client

needs_spec = pytest.mark.skipif(
    os.environ.get("ORB_MOCK_SDK_SPEC") != "1",
    reason="orb-mock was not started with --spec (ORB_MOCK_SKIP_OPENAPI=1 and no Orb document)",
)


@dataclass
class World:
    """Modelled objects the calls refer to, made once for the module's account."""

    client: orb.Orb
    customer_id: str
    external_customer_id: str
    subscription_id: str
    invoice_id: str


Call = Callable[[World], Any]

# (resource path under the client, method) -> a call with valid minimal arguments.
CASES: dict[tuple[str, str], Call] = {
    ("alerts", "list"): lambda w: w.client.alerts.list(),
    ("beta", "fetch_plan_version"): lambda w: w.client.beta.fetch_plan_version("1", plan_id="plan_sdk"),
    ("beta.external_plan_id", "fetch_plan_version"): lambda w: w.client.beta.external_plan_id.fetch_plan_version(
        "1", external_plan_id="ext_plan_sdk"
    ),
    ("coupons", "list"): lambda w: w.client.coupons.list(),
    ("coupons.subscriptions", "list"): lambda w: w.client.coupons.subscriptions.list("coupon_sdk"),
    ("credit_blocks", "retrieve"): lambda w: w.client.credit_blocks.retrieve("block_sdk"),
    ("credit_notes", "list"): lambda w: w.client.credit_notes.list(),
    ("customers", "create_portal_session"): lambda w: w.client.customers.create_portal_session(w.customer_id),
    ("customers.balance_transactions", "list"): lambda w: w.client.customers.balance_transactions.list(w.customer_id),
    ("customers.costs", "list"): lambda w: w.client.customers.costs.list(w.customer_id),
    ("customers.credits", "list"): lambda w: w.client.customers.credits.list(w.customer_id),
    ("customers.credits", "list_by_external_id"): lambda w: w.client.customers.credits.list_by_external_id(
        w.external_customer_id
    ),
    ("customers.credits.ledger", "list"): lambda w: w.client.customers.credits.ledger.list(w.customer_id),
    ("customers.credits.ledger", "create_entry"): lambda w: w.client.customers.credits.ledger.create_entry(
        w.customer_id, amount=10, entry_type="increment"
    ),
    ("customers.credits.top_ups", "list"): lambda w: w.client.customers.credits.top_ups.list(w.customer_id),
    ("dimensional_price_groups", "list"): lambda w: w.client.dimensional_price_groups.list(),
    (
        "dimensional_price_groups.external_dimensional_price_group_id",
        "retrieve",
    ): lambda w: w.client.dimensional_price_groups.external_dimensional_price_group_id.retrieve("ext_dpg_sdk"),
    ("events", "ingest"): lambda w: w.client.events.ingest(
        events=[
            {
                "event_name": "api_call",
                "idempotency_key": "evt-sdk-1",
                "properties": {"region": "eu"},
                "timestamp": "2026-01-05T10:00:00Z",
                "customer_id": w.customer_id,
            }
        ]
    ),
    ("events.backfills", "list"): lambda w: w.client.events.backfills.list(),
    ("events.volume", "list"): lambda w: w.client.events.volume.list(timeframe_start="2026-01-01T00:00:00Z"),
    ("invoice_line_items", "create"): lambda w: w.client.invoice_line_items.create(
        amount="12.00",
        end_date="2026-01-31",
        invoice_id=w.invoice_id,
        name="Setup",
        quantity=1,
        start_date="2026-01-01",
    ),
    ("invoices", "fetch_upcoming"): lambda w: w.client.invoices.fetch_upcoming(subscription_id=w.subscription_id),
    ("items", "list"): lambda w: w.client.items.list(),
    ("license_types", "list"): lambda w: w.client.license_types.list(),
    ("licenses", "list"): lambda w: w.client.licenses.list(subscription_id=w.subscription_id),
    ("licenses.external_licenses", "get_usage"): lambda w: w.client.licenses.external_licenses.get_usage(
        "ext_license_sdk", license_type_id="lt_sdk", subscription_id=w.subscription_id
    ),
    ("licenses.usage", "get_all_usage"): lambda w: w.client.licenses.usage.get_all_usage(
        license_type_id="lt_sdk", subscription_id=w.subscription_id
    ),
    ("metrics", "list"): lambda w: w.client.metrics.list(),
    ("plans", "list"): lambda w: w.client.plans.list(),
    ("plans", "create"): lambda w: w.client.plans.create(
        currency="USD",
        name="Starter",
        prices=[
            {
                "price": {
                    "cadence": "monthly",
                    "item_id": "item_seat",
                    "model_type": "unit",
                    "name": "Seat",
                    "unit_config": {"unit_amount": "4.00"},
                }
            }
        ],
    ),
    ("plans.external_plan_id", "fetch"): lambda w: w.client.plans.external_plan_id.fetch("ext_plan_sdk"),
    ("plans.migrations", "list"): lambda w: w.client.plans.migrations.list("plan_sdk"),
    ("prices", "list"): lambda w: w.client.prices.list(),
    ("prices", "create"): lambda w: w.client.prices.create(
        cadence="monthly",
        currency="USD",
        item_id="item_seat",
        model_type="unit",
        name="Seat",
        unit_config={"unit_amount": "4.00"},
    ),
    ("prices.external_price_id", "fetch"): lambda w: w.client.prices.external_price_id.fetch("ext_price_sdk"),
    ("subscription_changes", "list"): lambda w: w.client.subscription_changes.list(),
    ("subscriptions", "fetch_costs"): lambda w: w.client.subscriptions.fetch_costs(w.subscription_id),
    ("subscriptions", "fetch_schedule"): lambda w: w.client.subscriptions.fetch_schedule(w.subscription_id),
    ("top_level", "ping"): lambda w: w.client.top_level.ping(),
    # More than one method where the bodies are richest (unions, embedded invoices).
    ("alerts", "create_for_customer"): lambda w: w.client.alerts.create_for_customer(
        w.customer_id, currency="USD", type="credit_balance_depleted"
    ),
    ("coupons", "create"): lambda w: w.client.coupons.create(
        discount={"discount_type": "percentage", "percentage_discount": 0.1}, redemption_code="WELCOME"
    ),
    ("credit_notes", "create"): lambda w: w.client.credit_notes.create(
        line_items=[{"amount": "1.00", "invoice_line_item_id": "li_sdk"}], reason="duplicate"
    ),
    ("items", "create"): lambda w: w.client.items.create(name="Seat"),
    ("metrics", "create"): lambda w: w.client.metrics.create(
        description=None, item_id="item_seat", name="Calls", sql="SELECT count(*) FROM events"
    ),
    ("events", "search"): lambda w: w.client.events.search(event_ids=["evt_sdk"]),
    ("events.backfills", "create"): lambda w: w.client.events.backfills.create(
        timeframe_end="2026-01-02T00:00:00Z", timeframe_start="2026-01-01T00:00:00Z"
    ),
    ("customers.credits.top_ups", "create"): lambda w: w.client.customers.credits.top_ups.create(
        w.customer_id,
        amount="10",
        currency="USD",
        invoice_settings={"auto_collection": True, "net_terms": 0},
        per_unit_cost_basis="1",
        threshold="1",
    ),
    ("customers.balance_transactions", "create"): lambda w: w.client.customers.balance_transactions.create(
        w.customer_id, amount="1.00", type="increment"
    ),
    ("customers", "sync_payment_methods_from_gateway"): lambda w: (
        w.client.customers.sync_payment_methods_from_gateway(w.customer_id)
    ),
    ("invoices", "update"): lambda w: w.client.invoices.update(w.invoice_id, metadata={"po": "42"}),
    ("invoices", "list_summary"): lambda w: w.client.invoices.list_summary(),
    ("prices", "evaluate"): lambda w: w.client.prices.evaluate(
        "price_sdk",
        timeframe_end="2026-01-02T00:00:00Z",
        timeframe_start="2026-01-01T00:00:00Z",
        customer_id=w.customer_id,
    ),
    ("subscriptions", "update"): lambda w: w.client.subscriptions.update(w.subscription_id, metadata={"po": "42"}),
    ("subscriptions", "fetch_usage"): lambda w: w.client.subscriptions.fetch_usage(w.subscription_id),
    ("subscriptions", "schedule_plan_change"): lambda w: w.client.subscriptions.schedule_plan_change(
        w.subscription_id, change_option="immediate", plan_id="plan_sdk_2"
    ),
    ("subscriptions", "update_trial"): lambda w: w.client.subscriptions.update_trial(
        w.subscription_id, trial_end_date="2026-02-01T00:00:00Z"
    ),
    ("dimensional_price_groups", "create"): lambda w: w.client.dimensional_price_groups.create(
        billable_metric_id="metric_sdk", dimensions=["region"], name="By region"
    ),
    ("licenses", "create"): lambda w: w.client.licenses.create(
        external_license_id="ext_license_sdk", license_type_id="lt_sdk", subscription_id=w.subscription_id
    ),
    ("beta", "create_plan_version"): lambda w: w.client.beta.create_plan_version("plan_sdk", version=2),
}

# Resources deliberately not called, with the reason.
EXCLUDED: dict[str, str] = {
    "webhook_endpoints": "not in Orb's 4.69.0 document, which --spec answers from; "
    "orb-mock models them, and test_webhooks.py calls every method",
    "dimensional_price_groups.prices": "not in Orb's 4.69.0 document (no /dimensional_price_groups/{id}/prices)",
    "webhooks": "no HTTP: verifies and parses webhook payloads locally",
    "webhooks.standard": "no HTTP: verifies and parses webhook payloads locally",
}

# The methods orb-mock models: a case on a modelled resource must call another one.
MODELLED: dict[str, set[str]] = {
    "customers": {"create", "delete", "fetch", "fetch_by_external_id", "list", "update", "update_by_external_id"},
    "invoices": {"create", "fetch", "issue", "list", "mark_paid", "void"},
    "subscriptions": {"cancel", "create", "fetch", "list"},
}


def sdk_resources(client: orb.Orb) -> dict[str, Any]:
    """Every resource and sub-resource of the client, by its dotted path."""
    found: dict[str, Any] = {}

    def walk(obj: Any, prefix: str) -> None:
        for name in dir(type(obj)):
            if name.startswith("_") or name.startswith("with_"):
                continue
            value = getattr(obj, name)
            if isinstance(value, SyncAPIResource):
                path = f"{prefix}{name}"
                found[path] = value
                walk(value, f"{path}.")

    walk(client, "")
    return found


def resolve(client: orb.Orb, path: str) -> Any:
    obj: Any = client
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def assert_parses_to(value: Any, expected: Any, where: str) -> None:
    """The value is what the SDK's return annotation says (a strict client built it)."""
    if expected is type(None):
        assert value is None, f"{where}: expected no body, got {value!r}"
        return
    origin = typing.get_origin(expected)
    if isinstance(origin, type) and issubclass(origin, SyncPage):
        (item,) = typing.get_args(expected)
        assert isinstance(value, SyncPage), f"{where}: {type(value).__name__} is not a page"
        for element in value.data:
            assert_parses_to(element, item, where)
        return
    assert _is_instance(value, expected), f"{where}: {type(value).__name__} is not {expected}"


def _is_instance(value: Any, expected: Any) -> bool:
    origin = typing.get_origin(expected)
    if origin is typing.Annotated:
        return _is_instance(value, typing.get_args(expected)[0])
    if origin is typing.Union:
        return any(_is_instance(value, arm) for arm in typing.get_args(expected))
    return isinstance(value, origin or expected)


# Fields the pinned SDK (4.90.0) requires that Orb's 4.69.0 document does not define, so an
# answer generated from that document cannot carry them: (the field, keys that mark the object
# that owns it, a value). With the document the SDK was generated from (its `.stats.yml`), none
# is needed. Anything else that fails strict validation fails the test.
DRIFT: list[tuple[str, frozenset[str], Any]] = [
    ("hidden_line_item_count", frozenset({"invoice_number", "line_items"}), 0),
    ("price_count", frozenset({"billable_metric_id", "dimensions"}), 0),
]


def with_drift_fields(body: Any) -> Any:
    """The body with every DRIFT field added to the objects that own it and lack it."""
    if isinstance(body, list):
        return [with_drift_fields(v) for v in body]
    if not isinstance(body, dict):
        return body
    out = {k: with_drift_fields(v) for k, v in body.items()}
    for field, marks, value in DRIFT:
        if marks <= out.keys() and field not in out:
            out[field] = value
    return out


def validate_with_drift(error: orb.APIResponseValidationError, expected: Any, where: str) -> None:
    """A strict failure is accepted only when the DRIFT fields alone explain it."""
    problems = error.__cause__.errors() if hasattr(error.__cause__, "errors") else []  # type: ignore[union-attr]
    drift = {field for field, _, _ in DRIFT}
    assert any(p["loc"] and p["loc"][-1] in drift and p["type"] == "missing" for p in problems), (
        f"{where}: strict validation failed for another reason: {error.__cause__}"
    )
    body = with_drift_fields(error.body)
    origin = typing.get_origin(expected)
    if isinstance(origin, type) and issubclass(origin, SyncPage):
        (item,) = typing.get_args(expected)
        for element in body["data"]:
            validate_type(type_=item, value=element)
    else:
        validate_type(type_=expected, value=body)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    client = make_client(fresh_key(), strict=True)
    external_id = "ext-sdk-spec"
    customer = client.customers.create(name="Ada Lovelace", email="ada@example.com", external_customer_id=external_id)
    subscription = client.subscriptions.create(customer_id=customer.id, plan_id="plan_sdk", start_date="2026-01-01")
    invoice = client.invoices.create(
        customer_id=customer.id,
        currency="USD",
        invoice_date="2026-01-05T10:00:00+00:00",
        line_items=[
            {
                "name": "Seat",
                "quantity": 2,
                "unit_config": {"unit_amount": "4.00"},
                "start_date": "2026-01-01",
                "end_date": "2026-01-31",
                "item_id": "item_seat",
                "model_type": "unit",
            }
        ],
    )
    yield World(client, customer.id, external_id, subscription.id, invoice.id)
    client.close()


def test_every_sdk_resource_is_covered_or_excluded() -> None:
    client = make_client("sk_unused", strict=True)
    resources = sdk_resources(client)
    assert "plans" in resources and "customers.credits.ledger" in resources, sorted(resources)
    covered = {path for path, _ in CASES}
    missing = sorted(set(resources) - covered - set(EXCLUDED) - set(MODELLED))
    assert not missing, f"SDK resources with no call here and no reason in EXCLUDED: {missing}"
    for path in MODELLED:
        assert path in covered, f"{path}: no call to a method orb-mock does not model"
    stale = sorted((set(covered) | set(EXCLUDED)) - set(resources))
    assert not stale, f"listed here but not in the SDK: {stale}"
    for path, method in CASES:
        assert callable(getattr(resources[path], method, None)), f"{path}.{method} is not an SDK method"
        assert method not in MODELLED.get(path, set()), f"{path}.{method} is modelled, not answered by --spec"


@needs_spec
@pytest.mark.parametrize(("path", "method"), sorted(CASES), ids=[f"{p}.{m}" for p, m in sorted(CASES)])
def test_an_unmodelled_sdk_method_parses_in_strict_mode(world: World, path: str, method: str) -> None:
    bound = getattr(resolve(world.client, path), method)
    expected = typing.get_type_hints(bound)["return"]
    where = f"{path}.{method}"
    try:
        response = CASES[(path, method)](world)
    except orb.APIResponseValidationError as error:
        validate_with_drift(error, expected, where)
    else:
        assert_parses_to(response, expected, where)
    raw = CASES[(path, method)](_RawWorld(world))
    assert raw.headers.get("x-orb-mock-source") == "spec", f"{where}: answered by {raw.headers.get('x-orb-mock-source')}"


class _RawClient:
    """The client's `with_raw_response` view, resource by resource, to read response headers."""

    def __init__(self, resource: Any) -> None:
        self._resource = resource

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._resource, name)
        if isinstance(value, SyncAPIResource):
            return _RawClient(value)
        return getattr(self._resource.with_raw_response, name)


class _RawWorld(World):
    def __init__(self, world: World) -> None:
        super().__init__(
            _RawClient(world.client),  # type: ignore[arg-type]
            world.customer_id,
            world.external_customer_id,
            world.subscription_id,
            world.invoice_id,
        )
