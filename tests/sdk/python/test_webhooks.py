"""orb-mock's webhooks, received in this process and read with the official Python SDK.

A receiver (an HTTP server on a free port, in a thread) records the raw body and the headers of
each delivery. Two endpoints are created through `client.webhook_endpoints`, one per payload
style, and a real scenario runs through the SDK (customers, invoices, subscriptions). After
`POST /_mock/webhooks/flush` each endpoint must have received exactly the events of those
changes, in order, signed with its secret, and each body must be one that
`client.webhooks.unwrap` (expanded) or `client.webhooks.standard.unwrap_standard` (standard)
accepts and that validates strictly against the SDK's model for its event type.

Each test runs in its own account (a fresh API key, see conftest.py); the tests that only read
the scenario's deliveries share one account and one run of it (the `scenario` fixture).
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import re
import threading
import typing
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import orb
import pydantic
import pytest
from orb._models import BaseModel, validate_type
from orb.types import webhooks as standard_events  # the *StandardWebhookEvent models
from orb.types.unwrap_webhook_event import UnwrapWebhookEvent
from orb.types.webhooks.unwrap_standard_webhook_event import UnwrapStandardWebhookEvent

from conftest import Mock, fresh_key, make_client

LINE_ITEM: dict[str, Any] = {
    "name": "Seat",
    "quantity": 2,
    "unit_config": {"unit_amount": "4.00"},
    "start_date": "2026-01-01",
    "end_date": "2026-01-31",
    "item_id": "item_seat",
    "model_type": "unit",
}

# The events of the scenario below, in the order of its changes.
SCENARIO_EVENTS = [
    "customer.created",
    "customer.edited",
    "invoice.issued",  # created with will_auto_issue
    "invoice.issued",  # created as a draft, then issued
    "invoice.manually_marked_as_void",
    "invoice.manually_marked_as_paid",
    "subscription.created",
    "subscription.started",
    "subscription.ended",  # cancelled immediately
    "subscription.created",
    "subscription.started",
    "subscription.cancellation_scheduled",  # cancelled at the end of the term
]


def _by_event_type(union: Any) -> dict[str, type[BaseModel]]:
    """The SDK's model for each event type, read from a union of webhook event models."""
    return {typing.get_args(model.model_fields["type"].annotation)[0]: model for model in typing.get_args(union)}


EXPANDED_MODELS = _by_event_type(UnwrapWebhookEvent)
STANDARD_MODELS = _by_event_type(UnwrapStandardWebhookEvent)


# --- the receiver -----------------------------------------------------------------------------


@dataclass
class Delivery:
    path: str
    body: bytes  # exactly the bytes that were signed
    headers: dict[str, str]  # names lower-cased

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """A webhook receiver in this process: records each POST and answers 200, or first, in turn,
    each status of `fail_with`."""

    def __init__(self, fail_with: list[int] | None = None) -> None:
        self.deliveries: list[Delivery] = []
        self._statuses = list(fail_with or [])
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._lock:
                    receiver.deliveries.append(Delivery(self.path, body, headers))
                    status = receiver._statuses.pop(0) if receiver._statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def at(self, path: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.path == path]

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def flush(mock: Mock) -> dict[str, int]:
    """Deliver every due event; answers once each delivery was attempted."""
    return mock.ok("POST", "/_mock/webhooks/flush")


def events(mock: Mock) -> list[dict[str, Any]]:
    """Every event the account emitted, oldest first (the route lists newest first)."""
    return list(reversed(mock.ok("GET", "/_mock/webhooks/events", params={"limit": 100})["data"]))


# --- the scenario -----------------------------------------------------------------------------


@dataclass
class Scenario:
    client: orb.Orb
    mock: Mock
    expanded: orb.types.WebhookEndpointWithSecret
    standard: orb.types.WebhookEndpointWithSecret
    expanded_deliveries: list[Delivery]
    standard_deliveries: list[Delivery]
    # The raw JSON the API answered for the change behind each of SCENARIO_EVENTS, in order.
    api_objects: list[dict[str, Any]] = field(default_factory=list)


def raw(response: Any) -> dict[str, Any]:
    """The JSON the API answered. Subscription writes answer a MutatedSubscription: the
    Subscription plus `changed_resources`, which is about the request, not the subscription (an
    event carries a Subscription), so that key is left out."""
    body = response.http_response.json()
    body.pop("changed_resources", None)
    return body


@pytest.fixture(scope="module")
def scenario() -> Iterator[Scenario]:
    key = fresh_key()
    client = make_client(key)
    mock = Mock(key)
    with Receiver() as receiver:
        expanded = client.webhook_endpoints.create(url=receiver.url("/expanded"), payload_style="expanded")
        standard = client.webhook_endpoints.create(url=receiver.url("/standard"), payload_style="standard")
        assert (expanded.payload_style, standard.payload_style) == ("expanded", "standard")

        api: list[dict[str, Any]] = []
        customer = raw(client.customers.with_raw_response.create(name="Ada Lovelace", email="ada@example.com"))
        api.append(customer)
        api.append(raw(client.customers.with_raw_response.update(customer["id"], name="Ada King")))

        auto = raw(
            client.invoices.with_raw_response.create(
                customer_id=customer["id"],
                currency="USD",
                invoice_date="2026-01-05T10:00:00+00:00",
                line_items=[LINE_ITEM],  # type: ignore[list-item]
                will_auto_issue=True,
            )
        )
        assert auto["status"] == "issued"
        api.append(auto)
        draft = client.invoices.create(
            customer_id=customer["id"],
            currency="USD",
            invoice_date="2026-01-05T10:00:00+00:00",
            line_items=[LINE_ITEM],  # type: ignore[list-item]
        )
        assert draft.status == "draft"
        issued = raw(client.invoices.with_raw_response.issue(draft.id))
        api.append(issued)
        api.append(raw(client.invoices.with_raw_response.void(auto["id"])))
        api.append(
            raw(
                client.invoices.with_raw_response.mark_paid(
                    issued["id"], payment_received_date="2026-01-10", external_id="wire-42", notes="paid by wire"
                )
            )
        )

        ended = raw(client.subscriptions.with_raw_response.create(customer_id=customer["id"], plan_id="plan_x"))
        api += [ended, ended]  # subscription.created, subscription.started
        api.append(raw(client.subscriptions.with_raw_response.cancel(ended["id"], cancel_option="immediate")))
        scheduled = raw(client.subscriptions.with_raw_response.create(customer_id=customer["id"], plan_id="plan_x"))
        api += [scheduled, scheduled]
        term_end = client.subscriptions.with_raw_response.cancel(
            scheduled["id"], cancel_option="end_of_subscription_term"
        )
        api.append(raw(term_end))

        flush(mock)
        yield Scenario(
            client=client,
            mock=mock,
            expanded=expanded,
            standard=standard,
            expanded_deliveries=receiver.at("/expanded"),
            standard_deliveries=receiver.at("/standard"),
            api_objects=api,
        )
    client.close()
    mock.close()


def resource_key(event_type: str) -> str:
    """The key the event's resource is under: customer.edited -> customer."""
    return event_type.split(".")[0]


def unknown_keys(value: Any, path: str = "$") -> list[str]:
    """Keys of a parsed body that its SDK model does not define (the models allow extra keys, so
    validation alone does not catch them), as JSON paths."""
    found: list[str] = []
    if isinstance(value, BaseModel):
        found += [f"{path}.{k}" for k in (value.model_extra or {})]
        for name in type(value).model_fields:
            found += unknown_keys(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += unknown_keys(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, item in value.items():
            found += unknown_keys(item, f"{path}.{k}")
    return found


def validate_strictly(delivery: Delivery, models: dict[str, type[BaseModel]]) -> BaseModel:
    """Validates a body against the SDK's model for its type, strictly, and returns it.

    Pydantic's strict mode applied to Python objects (`model_validate(dict, strict=True)`) refuses
    every ISO 8601 string for a `datetime` field, since strict there means "already a datetime":
    no JSON body could pass it. Strict validation of the JSON text (`model_validate_json(...,
    strict=True)`) is what strict means for a wire format: a datetime must be an RFC 3339 string,
    and no coercion is allowed (no "1" for an int, no number for a string, no 1 for a bool).
    `validate_type` is what the SDK's own strict client (`_strict_response_validation=True`) does
    with a response body; it must agree.
    """
    event_type = delivery.json["type"]
    assert event_type in models, f"the SDK has no model for {event_type!r}"
    model = models[event_type]
    try:
        parsed = model.model_validate_json(delivery.body, strict=True)
    except pydantic.ValidationError as err:
        pytest.fail(f"{event_type} ({delivery.path}) does not validate strictly as {model.__name__}:\n{err}")
    assert isinstance(validate_type(type_=model, value=delivery.json), model)
    assert unknown_keys(parsed) == [], f"{event_type} ({delivery.path}) has keys {model.__name__} does not define"
    return parsed


# --- deliveries -------------------------------------------------------------------------------


def test_each_endpoint_receives_the_scenario_s_events_once_each_in_the_order_of_the_changes(
    scenario: Scenario,
) -> None:
    expanded = [d.json for d in scenario.expanded_deliveries]
    standard = [d.json for d in scenario.standard_deliveries]
    assert [e["type"] for e in expanded] == SCENARIO_EVENTS
    assert [e["type"] for e in standard] == SCENARIO_EVENTS
    assert [e["payload_style"] for e in expanded] == ["expanded"] * len(SCENARIO_EVENTS)
    assert [e["payload_style"] for e in standard] == ["standard"] * len(SCENARIO_EVENTS)

    # One event per change, sent to both endpoints under the same id, each rendered in its style.
    ids = [e["id"] for e in expanded]
    assert len(set(ids)) == len(ids)
    assert [e["id"] for e in standard] == ids
    assert [e["created_at"] for e in standard] == [e["created_at"] for e in expanded]

    # The control routes agree: the events (as expanded bodies) and one successful attempt each.
    emitted = events(scenario.mock)
    assert [e["id"] for e in emitted] == ids
    assert emitted == expanded
    attempts = scenario.mock.ok("GET", "/_mock/webhooks/deliveries", params={"limit": 100})["data"]
    assert len(attempts) == 2 * len(SCENARIO_EVENTS)
    for endpoint in (scenario.expanded, scenario.standard):
        mine = [a for a in reversed(attempts) if a["endpoint_id"] == endpoint.id]
        assert [a["event_id"] for a in mine] == ids
        assert {(a["url"], a["attempt"], a["status"], a["succeeded"], a["error"]) for a in mine} == {
            (endpoint.url, 1, 200, True, None)
        }


def test_webhooks_unwrap_accepts_every_expanded_body_as_its_event_type(scenario: Scenario) -> None:
    client, secret = scenario.client, scenario.expanded.secret
    unwrapped = [client.webhooks.unwrap(d.body, d.headers, secret=secret) for d in scenario.expanded_deliveries]
    assert [e.type for e in unwrapped] == SCENARIO_EVENTS
    for event in unwrapped:
        assert isinstance(event, EXPANDED_MODELS[event.type]), type(event).__name__

    created, edited, auto, issued, voided, paid, sub, started, ended, sub2, started2, scheduled = unwrapped
    assert isinstance(created, orb.types.CustomerCreatedWebhookEvent)
    assert created.customer.name == "Ada Lovelace"
    assert isinstance(edited, orb.types.CustomerEditedWebhookEvent)
    assert edited.customer.name == "Ada King"
    assert edited.properties.previous_attributes.name == "Ada Lovelace"
    for event in (auto, issued):
        assert isinstance(event, orb.types.InvoiceIssuedWebhookEvent)
        assert event.invoice.status == "issued"
        assert event.properties.automatically_marked_as_paid is False
        assert len(event.invoice.line_items) == 1
    assert isinstance(voided, orb.types.InvoiceManuallyMarkedAsVoidWebhookEvent)
    assert (voided.invoice.id, voided.invoice.status) == (auto.invoice.id, "void")
    assert isinstance(paid, orb.types.InvoiceManuallyMarkedAsPaidWebhookEvent)
    assert (paid.invoice.id, paid.invoice.status) == (issued.invoice.id, "paid")
    assert paid.properties.payment_received_date == datetime(2026, 1, 10, tzinfo=timezone.utc)
    assert (paid.properties.external_id, paid.properties.notes) == ("wire-42", "paid by wire")
    assert isinstance(sub, orb.types.SubscriptionCreatedWebhookEvent)
    assert isinstance(started, orb.types.SubscriptionStartedWebhookEvent)
    assert isinstance(ended, orb.types.SubscriptionEndedWebhookEvent)
    assert sub.subscription.id == started.subscription.id == ended.subscription.id
    assert ended.subscription.status == "ended"
    assert isinstance(scheduled, orb.types.SubscriptionCancellationScheduledWebhookEvent)
    assert scheduled.subscription.id == sub2.subscription.id == started2.subscription.id != sub.subscription.id
    assert scheduled.subscription.status == "active"
    assert scheduled.subscription.end_date is not None
    assert datetime.fromisoformat(scheduled.properties.cancellation_date) == scheduled.subscription.end_date


def test_webhooks_standard_unwrap_standard_accepts_every_standard_body_as_its_event_type(
    scenario: Scenario,
) -> None:
    client, secret = scenario.client, scenario.standard.secret
    unwrapped = [
        client.webhooks.standard.unwrap_standard(d.body, d.headers, secret=secret)
        for d in scenario.standard_deliveries
    ]
    assert [e.type for e in unwrapped] == SCENARIO_EVENTS
    for event in unwrapped:
        assert isinstance(event, STANDARD_MODELS[event.type]), type(event).__name__
    # webhooks.unwrap_standard is the same method.
    first = scenario.standard_deliveries[0]
    assert client.webhooks.unwrap_standard(first.body, first.headers, secret=secret) == unwrapped[0]

    edited, paid, scheduled = unwrapped[1], unwrapped[5], unwrapped[11]
    assert isinstance(edited, standard_events.CustomerEditedStandardWebhookEvent)
    assert edited.properties.previous_attributes.name == "Ada Lovelace"
    assert isinstance(paid, standard_events.InvoiceManuallyMarkedAsPaidStandardWebhookEvent)
    assert paid.invoice.status == "paid"
    assert isinstance(scheduled, standard_events.SubscriptionCancellationScheduledStandardWebhookEvent)
    assert scheduled.properties.cancellation_date


def test_every_expanded_body_validates_strictly_against_its_sdk_model_with_no_unknown_key(
    scenario: Scenario,
) -> None:
    for delivery in scenario.expanded_deliveries:
        validate_strictly(delivery, EXPANDED_MODELS)


def test_every_standard_body_validates_strictly_against_its_sdk_model_with_no_unknown_key(
    scenario: Scenario,
) -> None:
    for delivery in scenario.standard_deliveries:
        validate_strictly(delivery, STANDARD_MODELS)


def test_an_expanded_body_carries_the_object_the_api_answered_for_that_change(scenario: Scenario) -> None:
    assert len(scenario.expanded_deliveries) == len(scenario.api_objects)
    for delivery, api_object in zip(scenario.expanded_deliveries, scenario.api_objects):
        body = delivery.json
        assert body[resource_key(body["type"])] == api_object, body["type"]


def test_a_standard_body_carries_the_object_s_own_fields_and_references_to_related_objects(
    scenario: Scenario,
) -> None:
    assert len(scenario.standard_deliveries) == len(scenario.api_objects)
    for delivery, api_object in zip(scenario.standard_deliveries, scenario.api_objects):
        body = delivery.json
        kind = resource_key(body["type"])
        summary = body[kind]
        if kind == "customer":
            assert summary == api_object  # the SDK's standard customer events carry the full Customer
            continue
        assert set(summary) < set(api_object), f"{body['type']}: {set(summary) - set(api_object)}"
        for name, value in summary.items():
            if name == "customer":
                customer = api_object["customer"]
                assert value == {"id": customer["id"], "external_customer_id": customer["external_customer_id"]}
            elif name == "plan":
                plan = api_object["plan"]
                assert value == {"id": plan["id"], "external_plan_id": plan["external_plan_id"], "name": plan["name"]}
            else:
                assert value == api_object[name], f"{body['type']}: {name}"
        if kind == "invoice":
            assert "line_items" not in summary
        if kind == "subscription":
            assert "price_intervals" not in summary


# --- refusals ---------------------------------------------------------------------------------


def test_unwrap_refuses_a_standard_body_and_unwrap_standard_refuses_an_expanded_one(scenario: Scenario) -> None:
    client = scenario.client
    standard, expanded = scenario.standard_deliveries[0], scenario.expanded_deliveries[0]

    with pytest.raises(ValueError, match="payload_style 'standard'.*webhooks.standard.unwrap_standard"):
        client.webhooks.unwrap(standard.body, standard.headers, secret=scenario.standard.secret)
    with pytest.raises(ValueError, match="payload_style 'expanded'.*webhooks.unwrap"):
        client.webhooks.standard.unwrap_standard(expanded.body, expanded.headers, secret=scenario.expanded.secret)


def test_a_tampered_body_a_tampered_timestamp_or_a_wrong_secret_is_rejected(scenario: Scenario) -> None:
    client, secret = scenario.client, scenario.expanded.secret
    delivery = scenario.expanded_deliveries[1]  # customer.edited
    assert client.webhooks.unwrap(delivery.body, delivery.headers, secret=secret).type == "customer.edited"

    no_match = "None of the given webhook signatures match"
    tampered = delivery.body.replace(b"Ada King", b"Ada Kinf")
    assert tampered != delivery.body
    with pytest.raises(ValueError, match=no_match):
        client.webhooks.unwrap(tampered, delivery.headers, secret=secret)

    # The timestamp is signed too: the same body a millisecond later is refused.
    stamp = datetime.strptime(delivery.headers["x-orb-timestamp"], "%Y-%m-%dT%H:%M:%S.%f")
    later = (stamp + timedelta(milliseconds=1)).isoformat(timespec="milliseconds")
    with pytest.raises(ValueError, match=no_match):
        client.webhooks.unwrap(delivery.body, {**delivery.headers, "x-orb-timestamp": later}, secret=secret)

    with pytest.raises(ValueError, match=no_match):
        client.webhooks.unwrap(delivery.body, delivery.headers, secret=scenario.standard.secret)
    with pytest.raises(ValueError, match=no_match):
        client.webhooks.unwrap(delivery.body, delivery.headers, secret="not-the-secret")
    with pytest.raises(ValueError, match=no_match):
        client.webhooks.standard.unwrap_standard(
            scenario.standard_deliveries[0].body.replace(b"ada@example.com", b"eve@example.com"),
            scenario.standard_deliveries[0].headers,
            secret=scenario.standard.secret,
        )


# --- signature and timestamp ------------------------------------------------------------------


def test_the_signature_is_v1_hmac_sha256_of_v1_timestamp_body_keyed_with_the_endpoint_secret(
    scenario: Scenario,
) -> None:
    for endpoint, deliveries in (
        (scenario.expanded, scenario.expanded_deliveries),
        (scenario.standard, scenario.standard_deliveries),
    ):
        for d in deliveries:
            assert d.headers["content-type"] == "application/json"
            signed = f"v1:{d.headers['x-orb-timestamp']}:".encode() + d.body
            expected = hmac.new(endpoint.secret.encode(), signed, hashlib.sha256).hexdigest()
            assert d.headers["x-orb-signature"] == f"v1={expected}"


def test_x_orb_timestamp_parses_with_the_go_sdk_s_zone_less_layout(scenario: Scenario) -> None:
    """The Go SDK parses X-Orb-Timestamp with the layout "2006-01-02T15:04:05.999999999", which has
    no zone: a "Z" or an offset would make it fail. It is naive UTC, with milliseconds."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for d in scenario.expanded_deliveries + scenario.standard_deliveries:
        stamp = d.headers["x-orb-timestamp"]
        assert "Z" not in stamp and "+" not in stamp, stamp
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}", stamp), stamp
        parsed = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f")
        assert parsed.tzinfo is None
        assert abs(parsed - now) < timedelta(minutes=2), f"{stamp} is not UTC now ({now.isoformat()})"


# --- endpoints, filters and events ------------------------------------------------------------


def test_the_webhook_endpoint_routes_work_through_the_sdk_and_only_create_returns_the_secret(
    client: orb.Orb,
) -> None:
    created_raw = client.webhook_endpoints.with_raw_response.create(
        url="https://example.com/orb", enabled_event_types=["customer.created"]
    )
    assert created_raw.http_response.status_code == 201
    created = created_raw.parse()
    assert isinstance(created, orb.types.WebhookEndpointWithSecret)
    assert created_raw.http_response.json()["secret"] == created.secret
    assert created.secret
    assert (created.url, created.enabled, created.payload_style) == ("https://example.com/orb", True, "expanded")
    assert created.enabled_event_types == ["customer.created"]
    other = client.webhook_endpoints.create(url="https://example.com/other")
    assert other.enabled_event_types is None  # every event type
    assert other.secret != created.secret

    def no_secret(response: Any) -> Any:
        assert "secret" not in response.http_response.text
        return response.parse()

    fetched = no_secret(client.webhook_endpoints.with_raw_response.retrieve(created.id))
    assert isinstance(fetched, orb.types.WebhookEndpoint)
    assert fetched.to_dict() == {k: v for k, v in created.to_dict().items() if k != "secret"}

    updated = no_secret(
        client.webhook_endpoints.with_raw_response.update(
            created.id, payload_style="standard", enabled_event_types=["invoice.issued", "customer.edited"]
        )
    )
    assert (updated.id, updated.url, updated.payload_style) == (created.id, created.url, "standard")
    assert updated.enabled_event_types == ["invoice.issued", "customer.edited"]

    page = no_secret(client.webhook_endpoints.with_raw_response.list())
    assert [e.id for e in page.data] == [other.id, created.id]  # newest first
    assert page.data[1] == updated
    assert [e.id for e in client.webhook_endpoints.list(limit=1)] == [other.id, created.id]

    disabled = no_secret(client.webhook_endpoints.with_raw_response.disable(created.id))
    assert disabled.enabled is False
    assert client.webhook_endpoints.retrieve(created.id).enabled is False
    enabled = no_secret(client.webhook_endpoints.with_raw_response.enable(created.id))
    assert enabled.enabled is True
    assert enabled.payload_style == "standard"

    deleted = client.webhook_endpoints.with_raw_response.delete(created.id)
    assert deleted.http_response.status_code == 204
    assert deleted.parse() is None
    with pytest.raises(orb.ResourceNotFound):
        client.webhook_endpoints.retrieve(created.id)
    assert [e.id for e in client.webhook_endpoints.list()] == [other.id]


def test_an_endpoint_gets_only_its_enabled_event_types_and_a_disabled_one_gets_nothing(
    client: orb.Orb, mock: Mock
) -> None:
    with Receiver() as receiver:
        edits = client.webhook_endpoints.create(url=receiver.url("/edits"), enabled_event_types=["customer.edited"])
        off = client.webhook_endpoints.create(url=receiver.url("/off"))
        client.webhook_endpoints.disable(off.id)

        customer = client.customers.create(name="Ada Lovelace", email="ada@example.com")
        client.customers.update(customer.id, name="Ada King")
        flush(mock)
        assert [client.webhooks.unwrap(d.body, d.headers, secret=edits.secret).type for d in receiver.at("/edits")] == [
            "customer.edited"
        ]
        assert receiver.at("/off") == []
        # The account emitted both events; the endpoints chose what they were sent.
        assert [e["type"] for e in events(mock)] == ["customer.created", "customer.edited"]

        client.webhook_endpoints.enable(off.id)
        client.customers.update(customer.id, name="Ada Lovelace")
        flush(mock)
        assert [d.json["type"] for d in receiver.at("/off")] == ["customer.edited"]
        assert len(receiver.at("/edits")) == 2


def test_deleting_a_customer_emits_no_event(client: orb.Orb, mock: Mock) -> None:
    with Receiver() as receiver:
        client.webhook_endpoints.create(url=receiver.url("/orb"))
        customer = client.customers.create(name="Ada Lovelace", email="ada@example.com")
        client.customers.delete(customer.id)
        mock.complete_deletion(customer.id)
        flush(mock)
        assert [d.json["type"] for d in receiver.deliveries] == ["customer.created"]
        assert [e["type"] for e in events(mock)] == ["customer.created"]


# --- retries ----------------------------------------------------------------------------------


def test_a_receiver_that_fails_twice_gets_the_same_event_three_times_and_each_attempt_is_recorded(
    client: orb.Orb, mock: Mock
) -> None:
    """run.sh starts orb-mock with --webhook-retry-base 10ms, so one flush sees the retries."""
    with Receiver(fail_with=[500, 500]) as receiver:
        endpoint = client.webhook_endpoints.create(url=receiver.url("/flaky"))
        client.customers.create(name="Ada Lovelace", email="ada@example.com")
        flush(mock)

        bodies = [d.json for d in receiver.deliveries]
        assert [b["type"] for b in bodies] == ["customer.created"] * 3
        event_id = bodies[0]["id"]
        assert {b["id"] for b in bodies} == {event_id}
        # Each attempt is signed afresh, and each is a valid delivery on its own.
        for d in receiver.deliveries:
            assert client.webhooks.unwrap(d.body, d.headers, secret=endpoint.secret).id == event_id

    attempts = mock.ok("GET", "/_mock/webhooks/deliveries", params={"event_id": event_id})["data"]
    attempts.reverse()  # the route lists newest first
    assert [(a["attempt"], a["status"], a["succeeded"]) for a in attempts] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
    ]
    assert {(a["event_id"], a["endpoint_id"], a["url"]) for a in attempts} == {
        (event_id, endpoint.id, receiver.url("/flaky"))
    }
    assert attempts[0]["error"] and attempts[2]["error"] is None
