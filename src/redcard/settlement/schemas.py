from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, RootModel

from redcard.models import StatementStatus

BasisPoints = Annotated[int, Field(strict=True, ge=0, le=10_000)]


class Statement(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    merchant_id: uuid.UUID
    day: date = Field(description="the business day: a day in the programme's time zone")
    status: StatementStatus
    bills_count: int
    gross_fen: int
    discount_fen: int
    charged_fen: int
    sales_before_fen: int
    fee_fen: int
    commission_fen: int
    undone_count: int
    undone_fen: int
    clawback_count: int
    clawback_fen: int
    net_payable_fen: int
    paid_out_at: datetime | None


class Statements(RootModel[list[Statement]]):
    pass


class SettleDay(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date = Field(description="a finished day in the programme's time zone (REDCARD_TIMEZONE)")


class FeePlan(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

    commission_bp: BasisPoints = 0
    payment_fee_bp: BasisPoints = 60
    fee_threshold_fen: Annotated[int, Field(strict=True, ge=0, le=10**13)] = 100_000_000
    fee_above_bp: BasisPoints = 60
