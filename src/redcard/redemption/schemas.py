from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from redcard.kit.money import MAX_BILL_FEN

BillFen = Annotated[StrictInt, Field(ge=0, le=MAX_BILL_FEN)]


class RedemptionPrepare(BaseModel):
    """What the till sends: the member's code and the bill. Never the discount."""

    model_config = ConfigDict(extra="forbid")

    store_id: uuid.UUID | None = Field(
        default=None, description="required for staff; a terminal key implies its store"
    )
    code: str = Field(max_length=40)
    bill_fen: BillFen | None = Field(default=None, description="the bill in fen (integer)")
    bill_yuan: str | None = Field(
        default=None, max_length=32, description='or the bill as typed, in yuan ("128.50")'
    )
    excluded_fen: BillFen | None = Field(
        default=None,
        description="the part of the bill in the store's excluded categories (no discount)",
    )
    excluded_yuan: str | None = Field(default=None, max_length=32, description="or in yuan")

    @model_validator(mode="after")
    def _one_bill(self) -> RedemptionPrepare:
        if (self.bill_fen is None) == (self.bill_yuan is None):
            raise ValueError("send exactly one of bill_fen or bill_yuan")
        if self.excluded_fen is not None and self.excluded_yuan is not None:
            raise ValueError("send at most one of excluded_fen or excluded_yuan")
        return self


class Redemption(BaseModel):
    id: uuid.UUID
    kind: str
    status: str
    store_id: uuid.UUID
    store_name: str
    member: str = Field(description="masked: first character and last 4 phone digits")
    bill_fen: int
    excluded_fen: int = Field(0, description="part of the bill with no discount (store terms)")
    discount_fen: int
    charged_fen: int
    discount_bp: int | None = None
    prepared_at: datetime
    committed_at: datetime | None
    undone_at: datetime | None
    undo_until: datetime | None = None
    settled: bool = False


class MemberRedemption(BaseModel):
    id: uuid.UUID
    status: str
    store_name: str
    bill_fen: int
    discount_fen: int
    charged_fen: int
    committed_at: datetime | None
    undone_at: datetime | None


class MemberCodeOut(BaseModel):
    code: str
    grouped: str
    step: int
    step_seconds: int
    expires_in: float = Field(description="seconds until the next code")
    qr_svg: str
    savings_fen: int = Field(description="total saved with the card, summed from the ledger")
    card_price_fen: int
    last: MemberRedemption | None = Field(
        default=None, description="the most recent committed redemption (last 10 minutes)"
    )
    used: bool = Field(
        default=False,
        description="this step's code was used at a till: the next code comes with the next step",
    )


class MemberCodeUse(BaseModel):
    step: int
    used: bool = Field(description="the member's code for this step was used at a till")
