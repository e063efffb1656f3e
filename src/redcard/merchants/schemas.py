from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, field_validator

from redcard.discovery import hours
from redcard.kit.money import MAX_BILL_FEN

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class StoreCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, StringConstraints(max_length=200)]
    category: Annotated[Text, StringConstraints(max_length=32)]
    district: Annotated[str, StringConstraints(max_length=32)] | None = None
    address: Annotated[str, StringConstraints(max_length=300)] | None = None
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    opening_hours: Annotated[str, StringConstraints(max_length=1000)] | None = None
    discount_bp: StrictInt = Field(
        ge=1000, le=9000, description="basis points off the bill; at least 1000 (10% off, 9折)"
    )
    discount_cap_fen: StrictInt | None = Field(default=None, gt=0, le=MAX_BILL_FEN)
    min_bill_fen: StrictInt = Field(default=0, ge=0, le=MAX_BILL_FEN)
    excluded_categories: list[Annotated[Text, StringConstraints(max_length=40)]] = Field(
        default_factory=list, max_length=20
    )
    exclusive_to_members: bool = Field(
        default=False, description="true when the same deal is not offered to non-members"
    )

    @field_validator("opening_hours")
    @classmethod
    def _readable_hours(cls, value: str | None) -> str | None:
        """Hours in OpenStreetMap's syntax ("10:00-22:00" is every day), kept normalized."""
        try:
            return hours.normalize(value)
        except hours.BadHours as exc:
            raise ValueError(exc.message) from exc


class MerchantApply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, StringConstraints(max_length=100)]
    contact_name: Annotated[Text, StringConstraints(max_length=64)]
    contact_phone: Annotated[Text, StringConstraints(max_length=20)]
    stores: list[StoreCreate] = Field(min_length=1, max_length=50)


class Store(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    merchant_id: uuid.UUID
    name: str
    category: str
    district: str | None
    address: str | None
    lat: float
    lng: float
    opening_hours: str | None
    status: str
    discount_bp: int
    discount_cap_fen: int | None
    min_bill_fen: int
    excluded_categories: str | None
    exclusive_to_members: bool
    pay_code: str
    source: str
    timezone: str | None = None
    description: str | None = None
    hours_generated: bool = False
    photos_version: str | None = None


class Merchant(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    contact_name: str
    contact_phone: str
    status: str
    rejection_reason: str | None
    reviewed_at: datetime | None
    created_at: datetime
    stores: list[Store] = Field(default_factory=list)


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[Text, StringConstraints(max_length=500)]


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Annotated[str, StringConstraints(max_length=20)]
    display_name: Annotated[str, StringConstraints(max_length=64)]
    password: Annotated[str, StringConstraints(max_length=128)]


class Staff(BaseModel):
    user_id: uuid.UUID
    store_id: uuid.UUID
    display_name: str
    phone: str


class TerminalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, StringConstraints(max_length=64)]


class TerminalCreated(BaseModel):
    id: uuid.UUID
    store_id: uuid.UUID
    name: str
    api_key: str = Field(description="shown once; we keep only its SHA-256")


class StoreEdit(BaseModel):
    """What an owner changes on a store; a field left out stays as it is. Hours are either
    `opening_hours` (OpenStreetMap syntax; "" or null: unknown) or `week` (weekday 0 =
    Monday .. 6 = Sunday -> up to 3 [start, end] "HH:MM" ranges; an end at or before its start
    is overnight), not both. `timezone`: an IANA name, "" or null for the programme's zone."""

    model_config = ConfigDict(extra="forbid")

    opening_hours: Annotated[str, StringConstraints(max_length=1000)] | None = None
    week: dict[int, list[tuple[str, str]]] | None = Field(
        default=None,
        examples=[{"0": [["10:00", "14:00"], ["17:00", "22:00"]], "4": [["17:00", "02:00"]]}],
    )
    timezone: Annotated[str, StringConstraints(max_length=64)] | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None


class StorePhoto(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    width: int
    height: int
    url: str = ""
