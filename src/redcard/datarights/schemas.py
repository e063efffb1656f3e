from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from redcard.membership.schemas import RefundQuote, RefundRef


class ClosingPreview(BaseModel):
    """What closing the account would do now."""

    model_config = ConfigDict(from_attributes=True)

    quote: RefundQuote | None = Field(
        description="the card's refund if closed now (none without a paid card)"
    )


class AccountClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="the account's password, re-entered to confirm"
    )


class AccountClosed(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    closed_at: datetime
    refund: RefundRef | None = Field(description="the card's refund, which carries on")
