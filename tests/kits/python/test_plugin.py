"""The pytest plugin from an installed wheel, through its fixtures only: the deletion story on
a fresh account, a fault and the SDK's retry, and the journal.

Run by tests/kits/python.sh: plainly, under ``-n 2`` (pytest-xdist), and with ``ORB_MOCK_URL``
naming an orb-mock that is already running (then ``ORB_MOCK_EXPECT_URL`` names it too).
"""

from __future__ import annotations

import os

import orb
import pytest

from orb_mock import Account, OrbMock, OrbMockError


def issued_invoice(client: orb.Orb, customer_id: str) -> str:
    invoice = client.invoices.create(
        currency="USD",
        customer_id=customer_id,
        invoice_date="2026-01-01",
        line_items=[
            {
                "name": "Seat",
                "quantity": 1,
                "unit_config": {"unit_amount": "10.00"},
                "start_date": "2026-01-01",
                "end_date": "2026-01-31",
                "item_id": "item_seat",
                "model_type": "unit",
            }
        ],
        net_terms=0,
    )
    client.invoices.issue(invoice.id)
    return invoice.id


def test_a_customer_with_an_issued_invoice_is_deleted_once_the_invoice_is_void(orb_mock: Account) -> None:
    client = orb_mock.client(max_retries=0)
    customer = client.customers.create(name="Ada", email="ada@example.com")
    invoice_id = issued_invoice(client, customer.id)

    with pytest.raises(orb.BadRequestError) as refused:
        client.customers.delete(customer.id)
    assert refused.value.status_code == 400
    assert "constraint-violation" in refused.value.body["type"]

    client.invoices.void(invoice_id)
    orb_mock.set_deletion_delay("1h")
    client.customers.delete(customer.id)
    (deletion,) = orb_mock.deletions()
    assert (deletion["customer_id"], deletion["state"]) == (customer.id, "pending")

    completed = orb_mock.complete_deletions(customer.id)
    assert completed["completed"] == 1
    assert completed["data"][0]["state"] == "completed"
    with pytest.raises(orb.NotFoundError):
        client.customers.fetch(customer.id)

    deletes = orb_mock.journal(method="DELETE", path="/customers")
    assert [entry["status"] for entry in deletes] == [204, 400]


def test_a_fault_fires_once_and_the_sdk_retries_with_the_same_idempotency_key(orb_mock: Account) -> None:
    rule = orb_mock.add_fault(
        method="POST", path="/customers", status=429, headers={"retry-after-ms": "10"}, times=1
    )
    client = orb_mock.client(max_retries=2)
    customer = client.customers.create(name="Bo", email="bo@example.com")
    assert customer.name == "Bo"

    (counted,) = orb_mock.faults()
    assert (counted["id"], counted["fired"]) == (rule["id"], 1)
    sent = orb_mock.journal(method="POST", path="/customers")
    assert [entry["status"] for entry in sent] == [201, 429]
    assert sent[0]["headers"]["idempotency-key"] == sent[1]["headers"]["idempotency-key"]

    orb_mock.clear_faults()
    orb_mock.clear_journal()
    assert orb_mock.faults() == [] and orb_mock.journal() == []


def test_each_test_gets_a_fresh_empty_account(orb_mock: Account, orb_mock_server: OrbMock) -> None:
    assert orb_mock.client().customers.list().data == []
    assert orb_mock.settings()["deletion_delay"] == "2s"
    loaded = orb_mock.load_fixtures({"customers": [{"id": "fixed", "name": "F", "email": "f@example.com"}]})
    assert loaded["customers"] == ["fixed"]
    other = orb_mock_server.account()
    assert other.api_key != orb_mock.api_key
    assert other.client().customers.list().data == []
    orb_mock.reset()
    assert orb_mock.client().customers.list().data == []


def test_a_control_route_error_is_raised_with_orbs_error_body(orb_mock: Account) -> None:
    with pytest.raises(OrbMockError) as error:
        orb_mock.complete_deletions("no_such_customer")
    assert error.value.status == 404
    assert error.value.body["status"] == 404


def test_the_server_is_the_running_one_when_orb_mock_url_names_it(orb_mock_server: OrbMock) -> None:
    expected = os.environ.get("ORB_MOCK_EXPECT_URL")
    if expected:
        assert (orb_mock_server.url, orb_mock_server.attached) == (expected, True)
    else:
        assert not orb_mock_server.attached
        assert orb_mock_server.ready is not None
        assert orb_mock_server.url == orb_mock_server.ready["url"]
