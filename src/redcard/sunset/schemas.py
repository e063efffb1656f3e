from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

from redcard.models import RefundPolicy


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SunsetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cutoff_at: AwareDatetime
    policy: RefundPolicy = RefundPolicy.full
    notice: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class DryRunRow(Schema):
    plan_id: uuid.UUID
    plan_name: str
    status: str
    count: int
    total_fen: int


class ManualCase(Schema):
    membership_id: uuid.UUID
    member_id: uuid.UUID
    amount_fen: int
    reason: str


class DryRun(Schema):
    count: int
    total_fen: int
    by_plan: list[DryRunRow]
    manual: list[ManualCase]
    manual_count: int
    manual_fen: int
    skipped_count: int


class Progress(Schema):
    status: str
    items: int
    total_fen: int
    done: int
    done_fen: int
    pending: int
    pending_fen: int
    failed: int
    failed_fen: int
    offline: int
    offline_fen: int
    percent: int


class Sunset(Schema):
    id: uuid.UUID
    status: str
    cutoff_at: datetime
    policy: RefundPolicy
    notice: str
    prepared_by: uuid.UUID
    approved_by: uuid.UUID | None
    approved_at: datetime | None
    items_count: int
    total_fen: int
    renewals_cancelled: int
    benefits_ended_at: datetime | None
    completed_at: datetime | None
    dry_run: DryRun | None = None
    progress: Progress | None = None


class ExceptionRow(Schema):
    refund_id: uuid.UUID
    out_refund_no: str
    member_id: uuid.UUID
    member_phone: str
    amount_fen: int
    attempts: int
    last_error: str | None


class OfflineSettlement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]


class ReconcileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bill_csv: str


class Difference(Schema):
    cls: str
    kind: str
    reference: str
    bill_fen: int
    ours_fen: int
    note: str


class Tally(Schema):
    lines: int
    fen: int


class CampaignDay(Schema):
    day: date
    refunds: int
    fen: int
    in_bill: bool


class ReconcileReport(Schema):
    """`counts`: lines per class; `payments` and `refunds`: lines and fen per class, apart.
    `campaign_days`: the business days the campaign's refunds happened on, each with whether
    the bill covers it; `complete` is false while a difference or a missing day remains."""

    bill_lines: int
    our_refunds: int
    counts: dict[str, int]
    payments: dict[str, Tally]
    refunds: dict[str, Tally]
    unexplained: int
    differences: list[Difference]
    bill_days: list[date]
    campaign_days: list[CampaignDay]
    missing_days: list[date]
    warnings: list[str]
    complete: bool
