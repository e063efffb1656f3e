"""Request and response models of the companion card."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from redcard.models import CompanionStatus


class CompanionInvite(BaseModel):
    phone: str = Field(min_length=1, max_length=20, description="the companion's mobile number")


class CompanionView(BaseModel):
    """The primary's companion (or the invitation still waiting for an answer)."""

    id: uuid.UUID
    status: CompanionStatus
    phone: str | None = Field(description="the invited number, masked (139****0000)")
    name: str | None = Field(description="the companion's name, once they accepted")
    invited_at: datetime
    accepted_at: datetime | None
    ended_at: datetime | None = None


class Invitation(BaseModel):
    """An invitation waiting for the signed-in person."""

    id: uuid.UUID
    primary: str = Field(description="who invited: first character and last 4 phone digits")
    invited_at: datetime


class SharedCard(BaseModel):
    """The card the signed-in person uses as a companion."""

    companionship_id: uuid.UUID
    primary: str
    usable: bool = Field(description="false while the primary's card is not valid")
    ends_at: datetime | None
    accepted_at: datetime | None


class CompanionState(BaseModel):
    """Everything about the companion card for the signed-in member."""

    may_invite: bool = Field(description="holds an active paid card and has no companion yet")
    holder: bool = Field(description="holds an active paid card")
    companion: CompanionView | None
    invitations: list[Invitation]
    sharing: SharedCard | None
