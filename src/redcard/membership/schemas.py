from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from redcard.models import MembershipStatus, OrderStatus, PlanKind, PlanStatus, RefundPolicy

Fen = Annotated[int, Field(strict=True, ge=0, le=100_000_000, description="integer fen")]
Days = Annotated[int, Field(strict=True, ge=1, le=1830)]
# the name on English pages (an operator names a plan in Chinese); blank means none
PlanNameEn = Annotated[
    Annotated[str, StringConstraints(max_length=100)] | None,
    BeforeValidator(lambda v: (v.strip() or None) if isinstance(v, str) else v),
]


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PlanCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{1,31}$")]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    name_en: PlanNameEn = None
    kind: PlanKind = PlanKind.paid
    price_fen: Fen
    duration_days: Days
    refund_policy: RefundPolicy = RefundPolicy.full
    cooling_off_days: Annotated[int, Field(strict=True, ge=0, le=365)] = 7
    auto_renew_allowed: bool = False


class PlanUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    name_en: PlanNameEn = Field(
        default=None, description="the English name; leave it out to keep it, send null to drop it"
    )
    price_fen: Fen | None = None
    status: PlanStatus | None = None


class Plan(Schema):
    id: uuid.UUID
    code: str
    name: str
    name_en: str | None = None
    kind: PlanKind
    status: PlanStatus
    price_fen: int
    duration_days: int
    refund_policy: RefundPolicy
    cooling_off_days: int
    auto_renew_allowed: bool
    terms_version_id: uuid.UUID


class PlanCatalogue(BaseModel):
    """The plans a person can buy now. After a sunset is approved sales are closed: no plan
    is listed, and the members' notice and the cut-off say why."""

    sales_open: bool
    closed_at: datetime | None = None
    notice: str | None = None
    cutoff_at: datetime | None = None
    plans: list[Plan]


class Terms(Schema):
    id: uuid.UUID
    code: str
    version: int
    title: str
    body: str
    published_at: datetime


class TermsCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50_000)]


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_id: uuid.UUID
    convert_trial: bool = Field(
        default=False,
        description="explicit consent to end an active trial card and start the paid card",
    )


class Order(Schema):
    id: uuid.UUID
    plan_id: uuid.UUID | None
    amount_fen: int
    currency: str
    status: OrderStatus
    terms_version_id: uuid.UUID | None
    created_at: datetime
    paid_at: datetime | None
    pay_url: str | None = None


class Membership(Schema):
    id: uuid.UUID
    plan_id: uuid.UUID
    kind: PlanKind
    status: MembershipStatus
    starts_at: datetime
    ends_at: datetime
    auto_renew: bool


class TrialCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_id: uuid.UUID


class TimelineStep(Schema):
    label: str
    at: datetime | None


class MemberRefund(Schema):
    refund_id: uuid.UUID
    order_id: uuid.UUID
    amount_fen: int
    status: str
    reason: str
    requested_at: datetime
    succeeded_at: datetime | None
    timeline: list[TimelineStep]


class RefundQuote(Schema):
    allowed: bool
    amount_fen: int
    policy: RefundPolicy
    reason: str
    cooling_off_ends_at: datetime
    within_cooling_off: bool = Field(description="a full refund: the cooling-off period is on")
    paid_fen: int = Field(description="what is left of the card's payment")
    benefits_fen: int = Field(description="what the card saved you so far, from the ledger")


class RefundRef(Schema):
    id: uuid.UUID
    amount_fen: int
    status: str
