"""members-only events and registrations

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=True),
        sa.Column("venue", sa.String(length=300), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registration_opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registration_closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancel_deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("registered", sa.Integer(), nullable=False),
        sa.Column("waitlist_seq", sa.Integer(), nullable=False),
        sa.Column(
            "eligibility", _enum("eventeligibility", "card", "card_or_trial"), nullable=False
        ),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("hold_minutes", sa.Integer(), nullable=False),
        sa.Column("status", _enum("eventstatus", "scheduled", "cancelled"), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=300), nullable=True),
        sa.Column("no_shows_recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_events_capacity_positive")),
        sa.CheckConstraint(
            "registered >= 0 AND registered <= capacity", name=op.f("ck_events_seats")
        ),
        sa.CheckConstraint("price_fen >= 0", name=op.f("ck_events_price")),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_events_times")),
        sa.CheckConstraint(
            "store_id IS NOT NULL OR venue IS NOT NULL", name=op.f("ck_events_place")
        ),
        sa.CheckConstraint("hold_minutes > 0", name=op.f("ck_events_hold")),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_events_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_events_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_store_id"), "events", ["store_id"])
    op.create_index(op.f("ix_events_starts_at"), "events", ["starts_at"])
    op.create_index(op.f("ix_events_status"), "events", ["status"])

    op.create_table(
        "event_registrations",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            _enum(
                "registrationstatus",
                "awaiting_payment",
                "registered",
                "waitlisted",
                "checked_in",
                "no_show",
                "cancelled",
                "released",
                "event_cancelled",
            ),
            nullable=False,
        ),
        sa.Column("waitlist_position", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_in_by", sa.Uuid(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_registrations_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["users.id"], name=op.f("fk_event_registrations_member_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_event_registrations_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["checked_in_by"],
            ["users.id"],
            name=op.f("fk_event_registrations_checked_in_by_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_registrations")),
        sa.UniqueConstraint(
            "event_id", "member_id", name=op.f("uq_event_registrations_event_id_member_id")
        ),
        sa.UniqueConstraint(
            "event_id",
            "waitlist_position",
            name=op.f("uq_event_registrations_event_id_waitlist_position"),
        ),
        sa.UniqueConstraint("code", name=op.f("uq_event_registrations_code")),
        sa.UniqueConstraint("order_id", name=op.f("uq_event_registrations_order_id")),
    )
    op.create_index(op.f("ix_event_registrations_event_id"), "event_registrations", ["event_id"])
    op.create_index(op.f("ix_event_registrations_member_id"), "event_registrations", ["member_id"])
    op.create_index(op.f("ix_event_registrations_status"), "event_registrations", ["status"])


def downgrade() -> None:
    op.drop_table("event_registrations")
    op.drop_table("events")
