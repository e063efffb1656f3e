from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from redcard.models import RedemptionStatus


class BillInput(BaseModel):
    """The bill as typed, in yuan (text, e.g. "128.50"; full-width digits accepted)."""

    model_config = ConfigDict(extra="forbid")

    bill: object
    excluded: object = None  # the part in the store's excluded categories, in yuan, if any


class StorePayPage(BaseModel):
    store_id: uuid.UUID
    store_name: str
    discount_bp: int
    discount_cap_fen: int | None
    min_bill_fen: int
    excluded_categories: str | None = None


class BillPreview(BaseModel):
    store_id: uuid.UUID
    store_name: str
    bill_fen: int
    excluded_fen: int
    discount_fen: int
    charged_fen: int


class StoreBill(BaseModel):
    """A 买单 as the member and the store see it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    order_id: uuid.UUID | None
    store_id: uuid.UUID
    status: RedemptionStatus
    bill_fen: int
    excluded_fen: int
    discount_fen: int
    charged_fen: int
    committed_at: datetime | None
    undone_at: datetime | None
    statement_id: uuid.UUID | None


class StoreBillCreated(StoreBill):
    pay_url: str


class StaffBill(StoreBill):
    store_name: str
    member: str  # masked name
