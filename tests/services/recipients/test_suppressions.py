"""Suppressed addresses: added once, normalised per channel, looked up in one query for every
channel, and walled per tenant; an SMS STOP or START changes every tenant using the number."""

from __future__ import annotations

from typing import Any

from notify.models.recipients import Recipient
from notify.models.suppressions import Suppression
from notify.services.recipients.suppressions import (
    address_normal,
    sms_opt_out_or_in,
    suppressed,
    suppressed_any,
    suppression_add,
    suppression_remove,
)

BOUNCED = Suppression.Reason.BOUNCED


def test_an_address_is_suppressed_once_whatever_its_case(db: Any) -> None:
    suppression_add(tenant="a", channel="email", address=" Ann@Example.com", reason=BOUNCED)
    suppression_add(tenant="a", channel="email", address="ann@example.com", reason="complained")

    (row,) = Suppression.objects.all()
    assert (row.address, row.reason) == ("ann@example.com", "bounced")  # the first one stays
    assert suppressed(tenant="a", channel="email", addresses=["ANN@example.com"]) == {
        "ANN@example.com": "bounced"
    }


def test_an_empty_address_is_never_suppressed(db: Any) -> None:
    suppression_add(tenant="a", channel="email", address="", reason=BOUNCED)
    assert not Suppression.objects.exists()


def test_phone_numbers_and_tokens_keep_their_case() -> None:
    assert address_normal("sms", " +14155550100 ") == "+14155550100"
    assert address_normal("push", "AbC") == "AbC"
    assert address_normal("email", "A@B.C") == "a@b.c"


def test_suppressions_are_per_tenant_and_per_channel(db: Any) -> None:
    suppression_add(tenant="a", channel="email", address="x@example.com", reason=BOUNCED)
    suppression_add(tenant="a", channel="sms", address="+14155550100", reason="unsubscribed")

    assert suppressed(tenant="b", channel="email", addresses=["x@example.com"]) == {}
    assert suppressed(tenant="a", channel="sms", addresses=["x@example.com"]) == {}
    found = suppressed_any(
        tenant="a",
        addresses={"email": ["X@example.com", "y@example.com"], "sms": ["+14155550100", ""]},
    )
    assert found == {("email", "X@example.com"): "bounced", ("sms", "+14155550100"): "unsubscribed"}
    assert suppressed_any(tenant="a", addresses={"email": [""]}) == {}


def test_removing_a_suppression_reports_what_it_deleted(db: Any) -> None:
    suppression_add(tenant="a", channel="email", address="x@example.com", reason=BOUNCED)
    assert suppression_remove(tenant="a", channel="email", address="X@example.com") == 1
    assert suppression_remove(tenant="a", channel="email", address="x@example.com") == 0
    assert not Suppression.objects.exists()


def test_stop_and_start_change_every_tenant_using_the_number(db: Any) -> None:
    phone = "+14155550123"
    for tenant in ("a", "b"):
        Recipient.objects.create(tenant=tenant, external_id="u1", phone=phone)
    Recipient.objects.create(tenant="c", external_id="u1", phone="+14155550999")

    assert sms_opt_out_or_in(phone=phone, stop=True) == 2
    rows = Suppression.objects.order_by("tenant").values_list("tenant", "channel", "reason")
    assert list(rows) == [("a", "sms", "unsubscribed"), ("b", "sms", "unsubscribed")]

    assert sms_opt_out_or_in(phone=phone, stop=False) == 2
    assert not Suppression.objects.exists()
    assert sms_opt_out_or_in(phone="+14155550000", stop=True) == 0
