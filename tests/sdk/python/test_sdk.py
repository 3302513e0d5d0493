"""The official Python SDK (orb-billing) against orb-mock, in strict response-validation mode.

Each test runs in its own account (a fresh API key, see conftest.py). A test that needs a
control route (/_mock/...) fails with "control route not implemented" when the server lacks it.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import orb
import pytest

from conftest import BAD_KEY, Mock, make_client

LINE_ITEM: dict[str, Any] = {
    "name": "Seat",
    "quantity": 2,
    "unit_config": {"unit_amount": "4.00"},
    "start_date": "2026-01-01",
    "end_date": "2026-01-31",
    "item_id": "item_seat",
    "model_type": "unit",
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_customer(client: orb.Orb, **extra: Any) -> orb.types.Customer:
    return client.customers.create(name="Ada Lovelace", email="ada@example.com", **extra)


def new_invoice(client: orb.Orb, customer_id: str) -> orb.types.shared.Invoice:
    return client.invoices.create(
        customer_id=customer_id,
        currency="USD",
        invoice_date="2026-01-05T10:00:00+00:00",
        line_items=[LINE_ITEM],  # type: ignore[list-item]
    )


def issued_invoice(client: orb.Orb, customer_id: str) -> orb.types.shared.Invoice:
    invoice = new_invoice(client, customer_id)
    assert invoice.status == "draft"
    issued = client.invoices.issue(invoice.id)
    assert issued.status == "issued"
    return issued


# --- customers ------------------------------------------------------------------------------


def test_a_customer_is_created_then_fetched_by_id_and_by_external_id(client: orb.Orb) -> None:
    ext = unique("ext")
    created = new_customer(client, external_customer_id=ext, metadata={"plan": "gold"})
    assert isinstance(created, orb.types.Customer)
    assert created.name == "Ada Lovelace"
    assert created.email == "ada@example.com"
    assert created.external_customer_id == ext
    assert created.metadata == {"plan": "gold"}
    assert created.balance == "0.00"
    assert created.timezone == "Etc/UTC"

    by_id = client.customers.fetch(created.id)
    assert by_id.id == created.id
    assert by_id.external_customer_id == ext

    by_ext = client.customers.fetch_by_external_id(ext)
    assert by_ext.id == created.id


def test_updating_a_customer_renames_it_merges_metadata_and_a_null_value_removes_a_key(
    client: orb.Orb,
) -> None:
    ext = unique("ext")
    created = new_customer(client, external_customer_id=ext, metadata={"plan": "gold", "region": "eu"})

    updated = client.customers.update(created.id, name="Ada King", metadata={"region": None, "tier": "1"})
    assert updated.name == "Ada King"
    assert updated.metadata == {"plan": "gold", "tier": "1"}

    again = client.customers.update_by_external_id(ext, metadata={"plan": None})
    assert again.id == created.id
    assert again.metadata == {"tier": "1"}
    assert client.customers.fetch(created.id).metadata == {"tier": "1"}


def test_auto_pagination_walks_45_customers_over_3_pages_and_yields_each_once(client: orb.Orb) -> None:
    created = {new_customer(client).id for _ in range(45)}
    assert len(created) == 45

    first = client.customers.list(limit=20)
    assert len(first.data) == 20
    assert first.pagination_metadata.has_more is True
    assert first.pagination_metadata.next_cursor

    seen: list[str] = [c.id for c in client.customers.list(limit=20)]
    assert len(seen) == 45
    assert set(seen) == created

    pages = list(client.customers.list(limit=20).iter_pages())
    assert [len(p.data) for p in pages] == [20, 20, 5]
    assert pages[-1].pagination_metadata.has_more is False
    assert pages[-1].pagination_metadata.next_cursor is None


def test_listing_customers_with_a_created_at_filter_parses_strictly(client: orb.Orb) -> None:
    before = datetime.now(timezone.utc) - timedelta(minutes=5)
    ids = {new_customer(client).id for _ in range(3)}

    page = client.customers.list(created_at_gte=before, limit=100)
    assert {c.id for c in page.data} == ids
    assert all(isinstance(c, orb.types.Customer) for c in page.data)

    future = datetime.now(timezone.utc) + timedelta(days=1)
    assert client.customers.list(created_at_gt=future).data == []
    assert {c.id for c in client.customers.list(created_at_lt=future)} == ids


def test_an_external_customer_id_in_use_raises_duplicate_resource_creation(client: orb.Orb) -> None:
    ext = unique("ext")
    new_customer(client, external_customer_id=ext)
    with pytest.raises(orb.DuplicateResourceCreation) as exc:
        new_customer(client, external_customer_id=ext)
    assert exc.value.status_code == 400


def test_an_out_of_range_limit_raises_request_validation_error(client: orb.Orb) -> None:
    with pytest.raises(orb.RequestValidationError) as exc:
        client.customers.list(limit=0)
    assert exc.value.status_code == 400


# --- deletion -------------------------------------------------------------------------------


def test_deleting_a_customer_with_an_issued_invoice_raises_constraint_violation(client: orb.Orb) -> None:
    customer = new_customer(client)
    issued_invoice(client, customer.id)

    with pytest.raises(orb.ConstraintViolation) as exc:
        client.customers.delete(customer.id)
    assert exc.value.status_code == 400
    assert exc.value.body["type"].endswith("#400-constraint-violation")  # type: ignore[index]

    # nothing changed
    assert client.customers.fetch(customer.id).id == customer.id


def test_voiding_the_issued_invoice_lets_the_customer_be_deleted(client: orb.Orb) -> None:
    customer = new_customer(client)
    invoice = issued_invoice(client, customer.id)

    voided = client.invoices.void(invoice.id)
    assert voided.status == "void"
    assert client.customers.delete(customer.id) is None


def test_a_customer_being_deleted_reads_as_id_and_deleted_true_with_a_non_strict_client(
    client: orb.Orb, lax_client: orb.Orb
) -> None:
    ext = unique("ext")
    customer = new_customer(client, external_customer_id=ext)
    client.customers.delete(customer.id)

    raw = lax_client.customers.with_raw_response.fetch(customer.id)
    assert raw.http_response.json() == {"id": customer.id, "deleted": True}
    parsed = raw.parse()
    assert parsed.id == customer.id
    assert parsed.to_dict() == {"id": customer.id, "deleted": True}

    by_ext = lax_client.customers.with_raw_response.fetch_by_external_id(ext)
    assert by_ext.http_response.json() == {"id": customer.id, "deleted": True}

    # Real Orb's deleting shape lacks the Customer's required keys: strict mode rejects it.
    with pytest.raises(orb.APIResponseValidationError):
        client.customers.fetch(customer.id)

    # Lists show it in the same shape.
    listed = lax_client.customers.list()
    assert [c.to_dict() for c in listed.data] == [{"id": customer.id, "deleted": True}]

    # Writes on a customer being deleted are refused.
    with pytest.raises(orb.ConstraintViolation):
        client.customers.update(customer.id, name="Too late")

    # A second DELETE while deleting is accepted again.
    assert client.customers.delete(customer.id) is None


def test_completing_the_deletion_makes_the_customer_not_found(client: orb.Orb, mock: Mock) -> None:
    customer = new_customer(client)
    invoice = new_invoice(client, customer.id)  # draft: does not block
    subscription = client.subscriptions.create(customer_id=customer.id, plan_id="plan_x")
    client.customers.delete(customer.id)

    done = mock.complete_deletion(customer.id)
    assert done["completed"] == 1
    assert [d["customer_id"] for d in done["data"]] == [customer.id]
    assert done["data"][0]["state"] == "completed"

    with pytest.raises(orb.ResourceNotFound) as exc:
        client.customers.fetch(customer.id)
    assert exc.value.status_code == 404
    with pytest.raises(orb.ResourceNotFound):
        client.invoices.fetch(invoice.id)
    with pytest.raises(orb.ResourceNotFound):
        client.subscriptions.fetch(subscription.id)
    with pytest.raises(orb.ResourceNotFound):
        client.customers.delete(customer.id)
    assert [c.id for c in client.customers.list()] == []


# --- errors ---------------------------------------------------------------------------------


def test_an_unknown_path_raises_url_not_found(client: orb.Orb) -> None:
    with pytest.raises(orb.URLNotFound) as exc:
        client.get("/no_such_thing", cast_to=object)
    assert exc.value.status_code == 404


def test_an_unknown_customer_id_raises_resource_not_found(client: orb.Orb) -> None:
    with pytest.raises(orb.ResourceNotFound) as exc:
        client.customers.fetch("nosuchcustomer00")
    assert exc.value.status_code == 404


def test_a_bad_api_key_raises_authentication_error() -> None:
    bad = make_client(BAD_KEY)
    with pytest.raises(orb.OrbAuthenticationError) as exc:
        bad.customers.list()
    assert exc.value.status_code == 401
    assert isinstance(exc.value, orb.AuthenticationError)


# --- subscriptions --------------------------------------------------------------------------


def test_a_subscription_is_created_listed_fetched_and_cancelled_in_strict_mode(client: orb.Orb) -> None:
    customer = new_customer(client)
    other = new_customer(client)
    created = client.subscriptions.create(customer_id=customer.id, plan_id="plan_x")
    assert isinstance(created, orb.types.MutatedSubscription)
    assert created.status == "active"
    assert created.plan is not None and created.plan.id == "plan_x"
    client.subscriptions.create(customer_id=other.id, plan_id="plan_x")

    listed = client.subscriptions.list(customer_id=[customer.id])
    assert [s.id for s in listed] == [created.id]
    assert listed.data[0].customer.id == customer.id

    fetched = client.subscriptions.fetch(created.id)
    assert fetched.customer.id == customer.id

    cancelled = client.subscriptions.cancel(created.id, cancel_option="immediate")
    assert cancelled.id == created.id
    assert cancelled.status == "ended"
    assert cancelled.end_date is not None


def test_each_cancel_option_answers_a_strictly_valid_mutated_subscription(client: orb.Orb) -> None:
    customer = new_customer(client, external_customer_id=unique("ext"))
    assert customer.external_customer_id is not None

    at_term_end = client.subscriptions.create(customer_id=customer.id, plan_id="plan_x")
    cancelled = client.subscriptions.cancel(at_term_end.id, cancel_option="end_of_subscription_term")
    assert cancelled.id == at_term_end.id

    on_date = client.subscriptions.create(
        external_customer_id=customer.external_customer_id, external_plan_id="plan_ext"
    )
    when = datetime.now(timezone.utc) + timedelta(days=30)
    cancelled = client.subscriptions.cancel(on_date.id, cancel_option="requested_date", cancellation_date=when)
    assert cancelled.id == on_date.id
    assert cancelled.end_date is not None

    by_ext = client.subscriptions.list(external_customer_id=[customer.external_customer_id])
    assert {s.id for s in by_ext} == {at_term_end.id, on_date.id}
    assert {s.id for s in client.subscriptions.list(customer_id=[customer.id], status="active")} <= {
        at_term_end.id,
        on_date.id,
    }


# --- invoices -------------------------------------------------------------------------------


def test_invoices_are_listed_fetched_and_marked_paid_in_strict_mode(client: orb.Orb) -> None:
    customer = new_customer(client)
    draft = new_invoice(client, customer.id)
    issued = issued_invoice(client, customer.id)
    assert draft.total == "8.00"

    fetched = client.invoices.fetch(draft.id)
    assert fetched.id == draft.id
    assert fetched.customer.id == customer.id

    # Orb lists issued, paid and synced invoices by default.
    assert [i.id for i in client.invoices.list(customer_id=customer.id)] == [issued.id]
    all_ids = {i.id for i in client.invoices.list(customer_id=customer.id, status=["draft", "issued"])}
    assert all_ids == {draft.id, issued.id}

    assert customer.external_customer_id is None
    by_ext_customer = new_customer(client, external_customer_id=unique("ext"))
    other = issued_invoice(client, by_ext_customer.id)
    listed = client.invoices.list(external_customer_id=by_ext_customer.external_customer_id)
    assert [i.id for i in listed] == [other.id]

    paid = client.invoices.mark_paid(issued.id, payment_received_date="2026-01-10")
    assert paid.status == "paid"
    assert paid.paid_at is not None
    assert [i.id for i in client.invoices.list(customer_id=customer.id, status=["paid"])] == [issued.id]


# --- idempotency ----------------------------------------------------------------------------


def test_an_idempotent_create_retried_with_the_same_key_replays_the_same_customer(client: orb.Orb) -> None:
    key = unique("idem")
    first = client.customers.with_raw_response.create(name="Ada", email="ada@example.com", idempotency_key=key)
    second = client.customers.with_raw_response.create(name="Ada", email="ada@example.com", idempotency_key=key)

    assert first.status_code == second.status_code == 201
    assert second.parse().id == first.parse().id
    assert second.headers.get("idempotent-replayed") == "true"
    assert first.headers.get("idempotent-replayed") is None
    assert first.headers.get("idempotency-key") == key
    assert second.headers.get("idempotency-key") == key
    assert [c.id for c in client.customers.list()] == [first.parse().id]


def test_reusing_an_idempotency_key_with_another_payload_raises_resource_conflict(client: orb.Orb) -> None:
    key = unique("idem")
    client.customers.create(name="Ada", email="ada@example.com", idempotency_key=key)
    with pytest.raises(orb.ResourceConflict) as exc:
        client.customers.create(name="Grace", email="grace@example.com", idempotency_key=key)
    assert exc.value.status_code == 409


# --- faults and the request journal ---------------------------------------------------------


def test_a_delete_failing_twice_with_500_succeeds_on_the_sdks_third_attempt_with_one_idempotency_key(
    key: str, mock: Mock
) -> None:
    client = make_client(key, max_retries=2)
    customer = new_customer(client)
    rule = mock.add_fault({"method": "DELETE", "path": "/customers/*", "status": 500, "times": 2})
    assert rule["id"]

    assert client.customers.delete(customer.id) is None

    attempts = mock.requests("DELETE", f"/customers/{customer.id}")
    assert len(attempts) == 3, attempts
    assert sorted(a["status"] for a in attempts) == [204, 500, 500]
    assert all(a["path"] == f"/customers/{customer.id}" for a in attempts)
    keys = {a["headers"].get("idempotency-key") for a in attempts}
    assert len(keys) == 1 and None not in keys, keys
    assert all("authorization" not in a["headers"] for a in attempts)


def test_a_429_with_retry_after_ms_is_waited_out_and_the_retry_succeeds(key: str, mock: Mock) -> None:
    client = make_client(key, max_retries=2)
    mock.add_fault(
        {"method": "POST", "path": "/customers", "status": 429, "headers": {"retry-after-ms": "50"}, "times": 1}
    )

    started = time.monotonic()
    customer = new_customer(client)
    elapsed = time.monotonic() - started
    assert customer.id
    assert elapsed >= 0.05

    attempts = mock.requests("POST", "/customers")
    assert sorted(a["status"] for a in attempts) == [201, 429]
    assert len({a["headers"].get("idempotency-key") for a in attempts}) == 1


def test_without_retries_an_injected_500_raises_internal_server_error(client: orb.Orb, mock: Mock) -> None:
    mock.add_fault({"method": "GET", "path": "/customers", "status": 500, "times": 1})
    with pytest.raises(orb.OrbInternalServerError) as exc:
        client.customers.list()
    assert exc.value.status_code == 500
    assert client.customers.list().data == []


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, orb.OrbAuthenticationError),
        (409, orb.ResourceConflict),
        (413, orb.RequestTooLarge),
        (429, orb.TooManyRequests),
        (500, orb.OrbInternalServerError),
    ],
)
def test_a_prefer_code_header_raises_the_sdks_class_for_that_status(
    client: orb.Orb, status: int, error: type[orb.APIStatusError]
) -> None:
    with pytest.raises(error) as exc:
        client.customers.list(extra_headers={"Prefer": f"code={status}"})
    assert exc.value.status_code == status


def test_reset_empties_the_account(client: orb.Orb, mock: Mock) -> None:
    new_customer(client)
    mock.reset()
    assert client.customers.list().data == []
