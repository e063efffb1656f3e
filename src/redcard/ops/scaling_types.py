"""The shapes of the Citus plan (`ops/scaling_plan.py`) and of the notes that go with it
(`ops/scaling.py`): frozen data, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Placement(StrEnum):
    distributed = "distributed"  # hash-sharded by one column across the workers
    reference = "reference"  # one copy on every node: small, read everywhere, rarely written
    local = "local"  # on the coordinator only


class Key(StrEnum):
    """What a distributed table is sharded by. The tables of one key form one colocation
    group: rows with the same key value sit on the same node and join there."""

    member = "member"  # a user's id (members, and the staff and operators who are users too)
    merchant = "merchant"  # a merchant's id
    ledger_owner = "ledger owner"  # ledger_accounts.owner_key: text, '' for platform accounts
    caller = "caller"  # idempotency_keys.scope: `terminal:<id>`, `user:<id>`, ...
    lookup = "lookup value"  # a globally unique value: a phone number, an out_trade_no, ...


class Problem(StrEnum):
    primary_key = "primary key"  # does not include the distribution column
    unique = "unique"  # a unique constraint or index without the distribution column
    foreign_key = "foreign key"  # one Citus cannot enforce across the two placements
    missing_column = "missing column"  # the distribution column does not exist yet


@dataclass(frozen=True, slots=True)
class Blocker:
    """What stops the placement today. `constraint` is its name in the metadata (the naming
    convention of models/base.py), `columns` its columns today; a missing column names the
    column to add."""

    problem: Problem
    constraint: str | None
    columns: tuple[str, ...]
    fix: str


@dataclass(frozen=True, slots=True)
class Distribution:
    key: Key
    column: str
    column_exists_today: bool = True
    colocate_with: str | None = None  # None: the first table of its group (colocate_with 'none')


@dataclass(frozen=True, slots=True)
class TablePlan:
    table: str
    placement: Placement
    reason: str
    distribution: Distribution | None = None
    blockers: tuple[Blocker, ...] = ()


@dataclass(frozen=True, slots=True)
class NewTable:
    """A table the plan adds (not in the metadata yet)."""

    table: str
    columns: str
    distribution: Distribution
    reason: str
    kinds: tuple[str, ...]  # what it holds


@dataclass(frozen=True, slots=True)
class CrossShard:
    """A query that touches more than one shard, the code that issues it, and why that is
    acceptable; `change` says what must change first where Citus would refuse it today."""

    what: str
    module: str
    function: str  # dotted within the module: `Worker._sync_stale_payments`
    tables: tuple[str, ...]
    why: str
    change: str | None = None


@dataclass(frozen=True, slots=True)
class Figure:
    what: str
    figure: str
    command: str


@dataclass(frozen=True, slots=True)
class Step:
    title: str
    detail: str
