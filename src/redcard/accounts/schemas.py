from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from redcard.models import Role


class SignUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Annotated[str, StringConstraints(max_length=20)]
    password: Annotated[str, StringConstraints(max_length=128)]
    display_name: Annotated[str, StringConstraints(max_length=64)]


class LogIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Annotated[str, StringConstraints(max_length=20)]
    password: Annotated[str, StringConstraints(max_length=128)]


class Me(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    role: Role
    display_name: str
    phone: str


class Token(BaseModel):
    token: str
    user: Me
