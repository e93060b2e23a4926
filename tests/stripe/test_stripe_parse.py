"""Pure mapping rules: net shares of refunds, customers, and objects the parser passes over."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from adapters.stripe.parse import (
    PurchaseTarget,
    invoice_events,
    invoice_target,
    refund_event,
    refunded_before,
    session_purchases,
)
from connector.events import Purchase
from tests.stripe.stripe_payloads import (
    checkout_line_item,
    checkout_session,
    customer,
    invoice,
    invoice_line,
    price,
    refund,
    tax,
)


@given(
    net=st.integers(min_value=1, max_value=10**9),
    tax_part=st.integers(min_value=0, max_value=10**8),
    cuts=st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=12),
)
def test_parts_of_a_refund_add_up_to_the_share_of_their_sum(
    net: int, tax_part: int, cuts: list[int]
) -> None:
    target = PurchaseTarget(object_id="in_1", gross_total=net + tax_part, net_total=net)
    before = 0
    total = 0
    for cut in cuts:
        total += target.net_share_after(before, cut)
        before += cut
    assert total == target.net_share(before)
    assert 0 <= total <= net


def test_a_refund_of_the_whole_payment_returns_the_whole_net() -> None:
    target = invoice_target(invoice(lines=[invoice_line(amount=999, taxes=[tax(77)])]))

    assert (target.gross_total, target.net_total) == (1_076, 999)
    assert target.net_share(1_076) == 999
    assert target.net_share(5_000) == 999  # never more than the purchase's net


def test_three_partial_refunds_round_on_the_running_total() -> None:
    target = PurchaseTarget(object_id="in_1", gross_total=1_100, net_total=1_000)
    parts = [refund(f"re_{n}", amount=a, created=100 + n) for n, a in enumerate([367, 367, 366])]

    amounts = []
    for part in parts:
        event = refund_event(part, target, refunded_before(part, parts, excluded=set()))
        assert event is not None
        amounts.append(event.amount)

    assert amounts == [334, 333, 333]  # one at a time: 334 + 334 + 333 = 1001
    assert sum(amounts) == 1_000


def test_earlier_refunds_exclude_failed_ones_and_those_of_credit_notes() -> None:
    this = refund("re_4", amount=10, created=400)
    others = [
        refund("re_1", amount=100, created=100),
        refund("re_2", amount=200, created=200, status="failed"),
        refund("re_3", amount=300, created=300),
        this,
        refund("re_5", amount=500, created=500),
    ]

    assert refunded_before(this, others, excluded={"re_3"}) == 100


def test_an_expanded_customer_is_read_like_an_id() -> None:
    expanded = customer("cus_X", email="x@example.com", name="X")
    paid = invoice(customer=expanded, customer_email=None, customer_name=None)

    (purchase,) = invoice_events(paid)

    assert isinstance(purchase, Purchase)
    assert (purchase.customer.external_id, purchase.customer.email) == ("cus_X", "x@example.com")


def test_an_invoice_without_customer_or_not_yet_paid_gives_nothing() -> None:
    assert invoice_events(invoice(customer=None)) == []  # type: ignore[arg-type]
    assert invoice_events(invoice(status="open", paid_at=None)) == []
    assert invoice_events(invoice(status="uncollectible", paid_at=None)) == []


def test_an_expanded_price_gives_its_lookup_key_as_an_alias() -> None:
    expanded = price("price_9", lookup_key="credits_9")

    (purchase,) = invoice_events(invoice(lines=[invoice_line(price=expanded)]))

    assert isinstance(purchase, Purchase)
    assert (purchase.item_id, purchase.item_aliases) == ("price_9", ("credits_9",))


def test_inclusive_tax_in_a_checkout_line_is_taken_out_of_net() -> None:
    item = checkout_line_item(amount_subtotal=12_000, amount_tax=2_000, inclusive_tax=True)

    (purchase,) = session_purchases(checkout_session(), [item])

    assert (purchase.net_amount, purchase.tax_amount) == (10_000, 2_000)
    assert purchase.occurred_at == datetime.fromtimestamp(checkout_session()["created"], UTC)
