"""Request and response models of the curation API."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

MAX_BODY = 1000  # characters of a review's text
MAX_REASON = 500  # characters of a hiding reason (the column's size)


class ReviewCreate(BaseModel):
    redemption_id: uuid.UUID
    stars: int = Field(description="1 to 5")
    body: str = Field(default="", description=f"at most {MAX_BODY} characters")


class ReviewView(BaseModel):
    """A review as anyone may read it: the author's name masked ("小*")."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    stars: int
    body: str
    created_at: datetime
    author: str
    purchased_on: date  # the purchase's business day


class Review(BaseModel):
    """A review as its author (and an operator) reads it: hidden ones with their reason."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    store_id: uuid.UUID
    redemption_id: uuid.UUID
    stars: int
    body: str
    created_at: datetime
    hidden_at: datetime | None
    hidden_reason: str | None
    store_name: str | None = None


class ReviewPage(BaseModel):
    items: list[ReviewView]
    limit: int
    offset: int
    total: int


class ReviewHide(BaseModel):
    reason: str = Field(description=f"why, shown to the author; at most {MAX_REASON} characters")


class InspectionCreate(BaseModel):
    inspected_on: date
    inspector: str = Field(description="who visited, as they sign (at most 64 characters)")
    checklist: dict[str, bool] = Field(description="every checklist item: passed or not")
    passed: bool = Field(description="the inspector's own verdict")
    notes: str = Field(default="", description="at most 2000 characters")


class Inspection(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    store_id: uuid.UUID
    inspected_on: date
    inspector: str
    checklist: dict[str, bool]
    passed: bool
    notes: str
    created_at: datetime


class Decision(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    action: str
    reason: str
    score: float | None
    review_count: int
    inspection_id: uuid.UUID | None
    decided_by: uuid.UUID | None
    note: str
    created_at: datetime


class Candidate(BaseModel):
    """A store as the curation list ranks it, with what stands between it and the badge."""

    store_id: uuid.UUID
    name: str
    district: str | None
    category: str
    status: str
    score: float | None
    rating_avg: float | None
    review_count: int
    last_review_at: datetime | None
    inspected_on: date | None  # the latest passing inspection
    latest_inspection_on: date | None
    latest_inspection_passed: bool | None
    curated: bool
    curated_at: datetime | None
    blocking: list[str]  # reason codes; empty when the store qualifies


class CandidatePage(BaseModel):
    items: list[Candidate]
    page: int
    pages: int
    total: int


class StoreCuration(BaseModel):
    store_id: uuid.UUID
    curated: bool
    score: float | None
    review_count: int
    decisions: list[Decision]
    inspections: list[Inspection]
