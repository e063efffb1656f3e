"""Where a member's data lives: one declaration per table, read by both the export and the
closing of an account. Adding a table that holds a member's rows is one line in `TABLES`.

Each `Part` says which rows are the member's (`rows`, a WHERE clause built from the member as
they were before closing), what the export holds of them (`columns`; none: not exported),
and what closing the account does to them (`on_close`):

- `KEEP`: money records and what they point at (orders, payments, cards, redemptions,
  refunds, registrations): amounts, dates and ids stay, so the ledger and every statement
  still add up; the member behind them is the anonymous user id.
- `DELETE`: rows that are only about the person (logins, codes, messages) go.
- `Scrub({...})`: the row stays, its personal columns are overwritten (the user row itself,
  a review's text).

`tests/datarights/test_tables.py` holds every table with a column pointing at `users.id` to
this list (or to `NOT_A_MEMBERS`), and every column of `users` to `USER_SCRUB`/`USER_KEPT`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, or_, select

from redcard.models import (
    AuthSession,
    CodeBurn,
    Companion,
    Event,
    EventRegistration,
    IdempotencyKey,
    LoginAttempt,
    MemberCode,
    Membership,
    Notification,
    NotificationDelivery,
    Order,
    Payment,
    PaymentMandate,
    Plan,
    Redemption,
    RedemptionKind,
    Refund,
    Renewal,
    RenewalAttempt,
    Store,
    StoreReview,
    User,
)


@dataclass(frozen=True)
class Person:
    """The member as they were before closing: what finds their rows."""

    id: uuid.UUID
    phone: str
    display_name: str


@dataclass(frozen=True)
class Scrub:
    """Overwrite these columns on the member's rows: a value, an SQL expression, or a
    function of the `Person` giving one."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def for_person(self, person: Person) -> dict[str, Any]:
        return {k: v(person) if callable(v) else v for k, v in self.values.items()}


KEEP = "keep"
DELETE = "delete"

# A column of the export: an attribute's name, or (label, SQL expression) for a value read
# through another table, e.g. the store's name for a redemption.
Column = str | tuple[str, Any]
Rows = Callable[[Person], ColumnElement[bool]]


@dataclass(frozen=True)
class Part:
    name: str  # the export's file name and key
    model: Any
    rows: Rows
    columns: tuple[Column, ...] = ()  # () = not in the export
    on_close: str | Scrub = KEEP


def _orders(p: Person) -> Any:
    return select(Order.id).where(Order.member_id == p.id)


def _payments(p: Person) -> Any:
    return select(Payment.id).where(Payment.order_id.in_(_orders(p)))


_STORE = select(Store.name).where(Store.id == Redemption.store_id).scalar_subquery()
_REVIEWED = select(Store.name).where(Store.id == StoreReview.store_id).scalar_subquery()
_PLAN = select(Plan.name).where(Plan.id == Membership.plan_id).scalar_subquery()
_EVENT = select(Event.title).where(Event.id == EventRegistration.event_id).scalar_subquery()
_TIMES = ("created_at",)


def tombstone(person: Person) -> str:
    """The phone of a closed account: 20 characters, unique with the user id, and not a
    mobile number, so no one can type it and the real one can sign up again."""
    return f"closed-{person.id.hex[-13:]}"


# What closing writes over the user row (the delivery work's `email` belongs here: None).
USER_SCRUB: dict[str, Any] = {
    "phone": tombstone,
    "display_name": "—",
    "password_hash": "!",  # no password verifies against it
    "locale": None,
    "email": None,
}
# not personal; closed_at is set; marketing_messages is a yes/no about messages that stop anyway
USER_KEPT = frozenset({"id", "role", "created_at", "closed_at", "marketing_messages"})


TABLES: tuple[Part, ...] = (
    Part(
        "profile",
        User,
        lambda p: User.id == p.id,
        ("id", "phone", "display_name", "locale", "email", "marketing_messages", "created_at"),
        Scrub(USER_SCRUB),
    ),
    Part(
        "orders",
        Order,
        lambda p: Order.member_id == p.id,
        ("id", "kind", "plan_id", "amount_fen", "currency", "status", *_TIMES, "paid_at"),
    ),
    Part(
        "payments",
        Payment,
        lambda p: Payment.order_id.in_(_orders(p)),
        ("id", "order_id", "channel", "out_trade_no", "amount_fen", "status", "refunded_fen")
        + ("created_at", "succeeded_at"),
    ),
    Part(
        "cards",
        Membership,
        lambda p: Membership.member_id == p.id,
        ("id", ("plan", _PLAN), "kind", "status", "starts_at", "ends_at", "auto_renew")
        + ("ended_at", "order_id", *_TIMES),
    ),
    Part(
        "redemptions",
        Redemption,
        lambda p: and_(Redemption.member_id == p.id, Redemption.kind == RedemptionKind.code),
        ("id", ("store", _STORE), "status", "bill_fen", "excluded_fen", "discount_fen")
        + ("charged_fen", "committed_at", "undone_at"),
    ),
    Part(
        "storepay_bills",
        Redemption,
        lambda p: and_(Redemption.member_id == p.id, Redemption.kind == RedemptionKind.pay),
        ("id", "order_id", ("store", _STORE), "status", "bill_fen", "excluded_fen")
        + ("discount_fen", "charged_fen", "prepared_at", "committed_at", "undone_at"),
    ),
    Part("code_burns", CodeBurn, lambda p: CodeBurn.member_id == p.id),
    Part(
        "event_registrations",
        EventRegistration,
        lambda p: EventRegistration.member_id == p.id,
        ("id", "event_id", ("event", _EVENT), "status", "waitlist_position", "order_id")
        + ("checked_in_at", "ended_at", *_TIMES),
    ),
    Part(
        "refunds",
        Refund,
        lambda p: Refund.payment_id.in_(_payments(p)),
        ("id", "payment_id", "out_refund_no", "amount_fen", "reason", "status", *_TIMES)
        + ("succeeded_at",),
    ),
    Part(
        "reviews",
        StoreReview,
        lambda p: StoreReview.member_id == p.id,
        ("id", ("store", _REVIEWED), "redemption_id", "stars", "body", *_TIMES)
        + ("hidden_at", "hidden_reason"),
        # the stars keep counting for the store; the words go (a hidden review keeps a reason)
        Scrub(
            {
                "body": "",
                "hidden_reason": case((StoreReview.hidden_reason.is_(None), None), else_="—"),
            }
        ),
    ),
    # a message's way through each sink (inbox, e-mail): gone before the messages they point at
    Part(
        "notification_deliveries",
        NotificationDelivery,
        lambda p: NotificationDelivery.user_id == p.id,
        on_close=DELETE,
    ),
    Part(
        "payment_mandates",
        PaymentMandate,
        lambda p: PaymentMandate.member_id == p.id,
        ("id", "channel", "mandate_no", "status", "signed_at", "revoked_at", "created_at"),
        # an agreement to be charged: kept as a money record, revoked at closing
    ),
    Part(
        "renewals",
        Renewal,
        lambda p: Renewal.member_id == p.id,
        ("id", "membership_id", "period_starts_at", "price_fen", "noticed_at", "due_at")
        + ("status", "attempts", "order_id", "reason", "finished_at"),
    ),
    Part(
        "renewal_attempts",
        RenewalAttempt,
        lambda p: RenewalAttempt.renewal_id.in_(
            select(Renewal.id).where(Renewal.member_id == p.id)
        ),
        ("id", "renewal_id", "charge_no", "amount_fen", "succeeded", "error", "created_at"),
    ),
    Part(
        "companions",
        Companion,
        # their companion (as the holder), the card they share (as the companion), and
        # invitations waiting under their phone number
        lambda p: or_(
            Companion.primary_id == p.id, Companion.companion_id == p.id, Companion.phone == p.phone
        ),
        ("id", "status", "accepted_at", "ended_at", "created_at"),
        Scrub({"phone": None}),  # ended at closing (companions.service.forget_person)
    ),
    Part(
        "notifications",
        Notification,
        lambda p: Notification.user_id == p.id,
        ("id", "template", "params", "created_at", "sent_at", "inbox_at", "read_at"),
        DELETE,
    ),
    # -- not exported: the means of logging in and of using the card, gone at closing
    Part("member_codes", MemberCode, lambda p: MemberCode.member_id == p.id, on_close=DELETE),
    Part("sessions", AuthSession, lambda p: AuthSession.user_id == p.id, on_close=DELETE),
    Part("login_attempts", LoginAttempt, lambda p: LoginAttempt.phone == p.phone, on_close=DELETE),
    # stored API responses (a review's text, the sign-up's phone); a request in progress (this
    # one, closing the account) has no response yet and keeps its claim
    Part(
        "idempotency_keys",
        IdempotencyKey,
        lambda p: and_(
            IdempotencyKey.response_body.is_not(None),
            or_(
                IdempotencyKey.scope == f"user:{p.id}",
                IdempotencyKey.response_body.contains(p.phone),
            ),
        ),
        on_close=DELETE,
    ),
)

# Columns pointing at users.id that never hold a member: staff and operators' actions.
NOT_A_MEMBERS = frozenset(
    {
        ("curation_decisions", "decided_by"),
        ("event_images", "uploaded_by"),
        ("event_registrations", "checked_in_by"),
        ("events", "created_by"),
        ("merchants", "owner_id"),
        ("merchants", "reviewed_by"),
        ("redemptions", "staff_id"),
        ("statements", "paid_out_by"),
        ("store_inspections", "recorded_by"),
        ("store_photos", "uploaded_by"),
        ("store_reviews", "hidden_by"),
        ("store_staff", "user_id"),
        ("sunset_campaigns", "approved_by"),
        ("sunset_campaigns", "prepared_by"),
    }
)
