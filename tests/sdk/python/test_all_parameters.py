"""Every honoured input of each create and edit route, sent at once through the official Python
SDK in strict mode, and read back (README, "Emulated routes": the table of inputs). The same
table is sent over raw HTTP by tests/contract/all_parameters.rs on both stores.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import orb

from conftest import Mock


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def address(city: str) -> dict[str, Any]:
    return {
        "line1": "1 Main St",
        "line2": "Suite 2",
        "city": city,
        "state": "IL",
        "postal_code": "62701",
        "country": "US",
    }


def profile(city: str) -> dict[str, Any]:
    """The profile inputs a create and an edit share, with non-default values."""
    return {
        "billing_address": address(city),
        "shipping_address": address(city + " East"),
        "additional_emails": ["finance@example.com", "ops@example.com"],
        "auto_collection": False,
        "email_delivery": False,
        "payment_provider": "stripe_charge",
        "payment_provider_id": "cus_stripe_1",
        "tax_id": {"country": "DE", "type": "eu_vat", "value": "DE123456789"},
        "auto_issuance": False,
        "reporting_configuration": {"exempt": True},
        "accounting_sync_configuration": {
            "excluded": True,
            "accounting_providers": [{"provider_type": "netsuite", "external_provider_id": "ns_1"}],
        },
        "tax_configuration": {
            "tax_provider": "avalara",
            "tax_exempt": True,
            "automatic_tax_enabled": True,
            "tax_exemption_code": "E",
        },
        "payment_configuration": {
            "payment_providers": [
                {
                    "provider_type": "stripe",
                    "excluded_payment_method_types": ["card"],
                    "default_shared_payment_token": "spt_1",
                }
            ]
        },
    }


def seats(quantity: int, unit_amount: str) -> dict[str, Any]:
    """A one-off `unit` line of January seats."""
    return {
        "name": "Seats",
        "item_id": "seats",
        "model_type": "unit",
        "quantity": quantity,
        "unit_config": {"unit_amount": unit_amount},
        "start_date": "2026-01-01",
        "end_date": "2026-01-31",
    }


def assert_profile(customer: orb.types.Customer, city: str) -> None:
    expected = profile(city)
    for key in ("billing_address", "shipping_address"):
        value = getattr(customer, key)
        assert value is not None, key
        assert value.model_dump() == expected[key], key
    assert customer.additional_emails == expected["additional_emails"]
    assert customer.auto_collection is False
    assert customer.email_delivery is False
    assert customer.payment_provider == "stripe_charge"
    assert customer.payment_provider_id == "cus_stripe_1"
    assert customer.tax_id is not None
    assert customer.tax_id.model_dump() == expected["tax_id"]
    assert customer.auto_issuance is False
    assert customer.reporting_configuration is not None
    assert customer.reporting_configuration.exempt is True
    sync = customer.accounting_sync_configuration
    assert sync is not None and sync.excluded is True
    assert [(p.provider_type, p.external_provider_id) for p in sync.accounting_providers] == [("netsuite", "ns_1")]
    assert customer.exempt_from_automated_tax is True
    assert customer.automatic_tax_enabled is True
    payment = customer.payment_configuration
    assert payment is not None
    providers = [item.model_dump() for item in payment.payment_providers]
    assert providers == expected["payment_configuration"]["payment_providers"]


def test_creating_a_customer_with_every_honoured_input_reads_each_back(client: orb.Orb) -> None:
    ext = unique("ext")
    parent_ext = unique("parent")
    parent = client.customers.create(name="Parent", email="parent@example.com", external_customer_id=parent_ext)
    created = client.customers.create(
        name="All Parameters",
        email="all@example.com",
        external_customer_id=ext,
        currency="JPY",
        timezone="Asia/Tokyo",
        metadata={"k": "v"},
        hierarchy={"parent_customer_id": parent.id},
        **profile("Springfield"),
    )
    children = client.customers.fetch(parent.id).hierarchy.children
    assert [(c.id, c.external_customer_id) for c in children] == [(created.id, ext)]
    for customer in (created, client.customers.fetch(created.id)):
        assert customer.hierarchy.parent is not None
        assert (customer.hierarchy.parent.id, customer.hierarchy.parent.external_customer_id) == (
            parent.id,
            parent_ext,
        )
        assert customer.hierarchy.children == []
        assert customer.name == "All Parameters"
        assert customer.email == "all@example.com"
        assert customer.external_customer_id == ext
        assert customer.currency == "JPY"
        assert customer.timezone == "Asia/Tokyo"
        assert customer.metadata == {"k": "v"}
        assert_profile(customer, "Springfield")


def test_editing_a_customer_by_id_and_by_external_id_with_every_honoured_input(client: orb.Orb) -> None:
    customer = client.customers.create(name="Plain", email="plain@example.com")
    child = client.customers.create(name="Child", email="child@example.com")
    ext = unique("ext")
    edited = client.customers.update(
        customer.id,
        name="Renamed",
        email="renamed@example.com",
        external_customer_id=ext,
        currency="GBP",
        metadata={"tier": "gold"},
        hierarchy={"child_customer_ids": [child.id]},
        **profile("Chicago"),
    )
    parent_of_child = client.customers.fetch(child.id).hierarchy.parent
    assert parent_of_child is not None
    assert (parent_of_child.id, parent_of_child.external_customer_id) == (customer.id, ext)
    for read in (edited, client.customers.fetch(customer.id)):
        assert [c.id for c in read.hierarchy.children] == [child.id]
        assert (read.name, read.email) == ("Renamed", "renamed@example.com")
        assert (read.external_customer_id, read.currency) == (ext, "GBP")
        assert read.metadata == {"tier": "gold"}
        assert_profile(read, "Chicago")
    again = client.customers.update_by_external_id(
        ext,
        name="Renamed Again",
        email="again@example.com",
        external_customer_id=ext,
        currency="GBP",
        metadata={"tier": None, "seats": "5"},
        hierarchy={"parent_customer_id": None},
        **profile("Peoria"),
    )
    for read in (again, client.customers.fetch_by_external_id(ext)):
        assert (read.name, read.email) == ("Renamed Again", "again@example.com")
        assert read.metadata == {"seats": "5"}
        assert_profile(read, "Peoria")


def test_creating_a_subscription_with_every_honoured_input_reads_each_back(client: orb.Orb) -> None:
    ext = unique("ext")
    customer = client.customers.create(
        name="Euro", email="euro@example.com", external_customer_id=ext, currency="EUR"
    )
    start = datetime(2026, 1, 10, tzinfo=timezone.utc)
    end = datetime(2099, 1, 1, tzinfo=timezone.utc)
    created = client.subscriptions.create(
        customer_id=customer.id,
        external_customer_id=ext,
        plan_id="plan_all",
        external_plan_id="ext_plan_all",
        start_date=start,
        end_date=end,
        name="Gold",
        currency="EUR",
        trial_duration_days=14,
        net_terms=15,
        auto_collection=True,
        default_invoice_memo="Thanks",
        metadata={"k": "v"},
    )
    for subscription in (created, client.subscriptions.fetch(created.id)):
        assert subscription.customer.id == customer.id
        assert subscription.customer.external_customer_id == ext
        assert subscription.plan is not None
        assert (subscription.plan.id, subscription.plan.external_plan_id) == ("plan_all", "ext_plan_all")
        assert subscription.plan.currency == "EUR"
        assert (subscription.start_date, subscription.end_date) == (start, end)
        assert subscription.status == "active"
        assert subscription.name == "Gold"
        assert subscription.trial_info.end_date == start + timedelta(days=14)
        assert subscription.net_terms == 15
        assert subscription.auto_collection is True
        assert subscription.default_invoice_memo == "Thanks"
        assert subscription.metadata == {"k": "v"}


def test_creating_an_invoice_with_every_honoured_input_reads_each_back(client: orb.Orb, mock: Mock) -> None:
    ext = unique("ext")
    customer = client.customers.create(
        name="Euro", email="euro@example.com", external_customer_id=ext, currency="EUR"
    )
    invoice_date = datetime(2026, 2, 1, 9, tzinfo=timezone.utc)
    due = datetime(2026, 3, 1, tzinfo=timezone.utc)
    created = client.invoices.create(
        customer_id=customer.id,
        external_customer_id=ext,
        currency="EUR",
        invoice_date=invoice_date,
        due_date=due,
        memo="Hello",
        metadata={"k": "v"},
        will_auto_issue=True,
        auto_collection=False,
        discount={"discount_type": "percentage", "percentage_discount": 0.2, "reason": "launch"},
        line_items=[seats(3, "5.00")],
    )
    for invoice in (created, client.invoices.fetch(created.id)):
        assert (invoice.subtotal, invoice.total, invoice.amount_due) == ("15.00", "12.00", "12.00")
        [discount] = invoice.discounts
        assert discount.discount_type == "percentage"
        assert discount.percentage_discount == 0.2
        assert discount.reason == "launch"
        assert invoice.customer.id == customer.id
        assert invoice.customer.external_customer_id == ext
        assert invoice.currency == "EUR"
        assert invoice.invoice_date == invoice_date
        assert invoice.due_date == due
        assert invoice.memo == "Hello"
        assert invoice.metadata == {"k": "v"}
        assert invoice.status == "issued"
        assert invoice.auto_collection.enabled is False
    by_terms = client.invoices.create(
        customer_id=customer.id,
        currency="EUR",
        invoice_date=invoice_date,
        net_terms=30,
        line_items=[seats(1, "1.00")],
    )
    assert by_terms.due_date == invoice_date + timedelta(days=30)
    paid = client.invoices.mark_paid(
        created.id, payment_received_date="2026-03-02", external_id="wire-7", notes="by wire"
    )
    assert paid.status == "paid"
    event = mock.ok("GET", "/_mock/webhooks/events", params={"type": "invoice.manually_marked_as_paid"})
    properties = event["data"][0]["properties"]
    assert (properties["external_id"], properties["notes"]) == ("wire-7", "by wire")
