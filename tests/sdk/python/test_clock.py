"""The account's clock (README, "Moving time"), driven through the official Python SDK in strict
mode: time moves with `POST /_mock/clock`, and what it makes due (subscription starts and ends,
deletions, their events) has happened when the move answers. The webhooks of a subscription
that ends a month ahead still verify with `client.webhooks.unwrap`: signatures stay on real
time.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orb
import pytest

from conftest import Mock
from test_webhooks import Receiver, flush


def account_now(mock: Mock) -> datetime:
    return datetime.fromisoformat(mock.ok("GET", "/_mock/clock")["now"])


def test_a_subscription_with_an_end_date_a_month_ahead_ends_when_the_clock_advances_31_days(
    client: orb.Orb, mock: Mock
) -> None:
    with Receiver() as receiver:
        endpoint = client.webhook_endpoints.create(url=receiver.url("/orb"))
        now = account_now(mock)
        customer = client.customers.create(name="Ada", email="ada@example.com")
        end = now + timedelta(days=30)
        subscription = client.subscriptions.create(customer_id=customer.id, plan_id="plan_basic", end_date=end)
        assert subscription.status == "active"
        assert subscription.end_date is not None

        moved = mock.ok("POST", "/_mock/clock", {"advance": "31d"})

        assert moved["ran"]["subscriptions_ended"] == [subscription.id]
        fetched = client.subscriptions.fetch(subscription.id)
        assert fetched.status == "ended"
        flush(mock)
        unwrapped = [
            client.webhooks.unwrap(d.body, d.headers, secret=endpoint.secret) for d in receiver.at("/orb")
        ]
        ended = [event for event in unwrapped if event.type == "subscription.ended"]
        assert len(ended) == 1
        # The account's time, not the real time: the end date, a month ahead.
        assert ended[0].created_at == subscription.end_date.replace(microsecond=0)
        assert ended[0].created_at > datetime.now(timezone.utc) + timedelta(days=29)
        assert ended[0].subscription.id == subscription.id
        assert ended[0].subscription.status == "ended"


def test_a_future_subscription_starts_when_its_start_date_passes(client: orb.Orb, mock: Mock) -> None:
    customer = client.customers.create(name="Ada", email="ada@example.com")
    start = account_now(mock) + timedelta(days=14)
    subscription = client.subscriptions.create(customer_id=customer.id, plan_id="plan_basic", start_date=start)
    assert subscription.status == "upcoming"

    moved = mock.ok("POST", "/_mock/clock", {"to": (start + timedelta(minutes=1)).isoformat()})

    assert moved["ran"]["subscriptions_started"] == [subscription.id]
    started = client.subscriptions.fetch(subscription.id)
    assert started.status == "active"
    assert started.current_billing_period_start_date == started.start_date
    events = [e for e in moved["ran"]["events"] if e["type"] == "subscription.started"]
    assert len(events) == 1


def test_a_delete_followed_by_an_advance_past_the_deletion_delay_is_complete_when_the_advance_returns(
    client: orb.Orb, lax_client: orb.Orb, mock: Mock
) -> None:
    customer = client.customers.create(name="Ada", email="ada@example.com")
    subscription = client.subscriptions.create(customer_id=customer.id, plan_id="plan_basic")
    client.customers.delete(customer.id)
    assert lax_client.customers.fetch(customer.id).to_dict() == {"id": customer.id, "deleted": True}

    moved = mock.ok("POST", "/_mock/clock", {"advance": "1h 1s"})  # run.sh: --deletion-delay 1h

    assert moved["ran"]["deletions_completed"] == [customer.id]
    with pytest.raises(orb.NotFoundError):
        client.customers.fetch(customer.id)
    with pytest.raises(orb.NotFoundError):
        client.subscriptions.fetch(subscription.id)


def test_a_jump_backwards_is_refused_and_moves_nothing(client: orb.Orb, mock: Mock) -> None:
    mock.ok("POST", "/_mock/clock", {"advance": "10d"})
    before = account_now(mock)

    refused = mock.call("POST", "/_mock/clock", {"to": (before - timedelta(days=1)).isoformat()})

    assert refused.status_code == 400
    body = refused.json()
    assert body["type"].endswith("400-request-validation-errors")
    assert body["validation_errors"][0].startswith("to:")
    assert account_now(mock) >= before
    customer = client.customers.create(name="Ada", email="ada@example.com")
    assert customer.created_at >= before
