"""Orb's `Dry-Run: True` header through the official Python SDK in strict mode (README, "Dry
runs"). The SDK adds an automatic `Idempotency-Key` to every write, and a dry run with a key is a
validation error: that is what a user who only adds the header sees. Sending the key empty
(`"Idempotency-Key": ""`) stops the SDK from adding its own, and the dry run goes through.
"""

from __future__ import annotations

import orb
import pytest

from conftest import Mock

DRY = {"Dry-Run": "True"}
DRY_WITHOUT_KEY = {"Dry-Run": "True", "Idempotency-Key": ""}


def test_a_dry_run_with_the_sdk_s_automatic_idempotency_key_is_a_validation_error(
    client: orb.Orb, mock: Mock
) -> None:
    with pytest.raises(orb.BadRequestError) as refused:
        client.customers.create(name="Ada", email="ada@example.com", extra_headers=DRY)
    body = refused.value.body
    assert isinstance(body, dict)
    assert body["type"].endswith("400-request-validation-errors")
    assert body["validation_errors"][0].startswith("Idempotency-Key:")
    assert client.customers.list().data == []


def test_a_dry_run_create_answers_the_customer_it_would_create_and_creates_nothing(
    client: orb.Orb, mock: Mock
) -> None:
    raw = client.customers.with_raw_response.create(
        name="Ada", email="ada@example.com", external_customer_id="ada-1", extra_headers=DRY_WITHOUT_KEY
    )
    assert raw.headers["orb-dry-run"] == "true"
    would_be = raw.parse()
    assert would_be.name == "Ada"
    assert would_be.external_customer_id == "ada-1"
    assert client.customers.list().data == []
    assert mock.ok("GET", "/_mock/webhooks/events")["data"] == []
    # The real request afterwards succeeds: the dry run left the external id free.
    real = client.customers.create(name="Ada", email="ada@example.com", external_customer_id="ada-1")
    assert real.external_customer_id == "ada-1"


def test_a_dry_run_delete_of_a_customer_with_an_issued_invoice_is_refused_as_the_real_one(
    client: orb.Orb, mock: Mock
) -> None:
    customer = client.customers.create(name="Ada", email="ada@example.com")
    client.invoices.create(
        currency="USD",
        invoice_date="2026-01-05",
        customer_id=customer.id,
        will_auto_issue=True,
        line_items=[
            {
                "name": "Seat",
                "quantity": 1,
                "unit_config": {"unit_amount": "4.00"},
                "start_date": "2026-01-01",
                "end_date": "2026-01-31",
                "item_id": "item_seat",
                "model_type": "unit",
            }
        ],
    )
    with pytest.raises(orb.BadRequestError) as dry:
        client.customers.delete(customer.id, extra_headers=DRY_WITHOUT_KEY)
    with pytest.raises(orb.BadRequestError) as real:
        client.customers.delete(customer.id)
    assert dry.value.status_code == real.value.status_code == 400
    assert dry.value.response.headers["orb-dry-run"] == "true"
    assert dry.value.body == real.value.body


def test_a_dry_run_delete_of_a_deletable_customer_answers_204_and_the_customer_stays_active(
    client: orb.Orb, mock: Mock
) -> None:
    customer = client.customers.create(name="Ada", email="ada@example.com")
    raw = client.customers.with_raw_response.delete(customer.id, extra_headers=DRY_WITHOUT_KEY)
    assert raw.status_code == 204
    assert raw.headers["orb-dry-run"] == "true"
    fetched = client.customers.fetch(customer.id)  # strict: an active customer's full shape
    assert fetched.id == customer.id
    assert mock.ok("GET", "/_mock/deletions")["data"] == []
