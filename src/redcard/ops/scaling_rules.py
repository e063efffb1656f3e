"""The vocabulary of the Citus plan (`ops/scaling_plan.py`): blockers and distributions, and
the fixes they name, shared by the plan's groups."""

from __future__ import annotations

from redcard.ops.scaling_types import Blocker, Distribution, Key, Problem


def pk(table: str, column: str) -> Blocker:
    return Blocker(
        Problem.primary_key,
        f"pk_{table}",
        ("id",),
        f"PRIMARY KEY ({column}, id)",
    )


def uq(name: str, *columns: str, fix: str) -> Blocker:
    return Blocker(Problem.unique, name, columns, fix)


def fk(name: str, column: str, fix: str) -> Blocker:
    return Blocker(Problem.foreign_key, name, (column,), fix)


def add(column: str, fix: str) -> Blocker:
    return Blocker(Problem.missing_column, None, (column,), fix)


def lookup(kind: str, readers: str) -> str:
    return (
        f"a `global_keys` row (kind '{kind}'), written in the same transaction, keeps the value "
        f"unique and routes {readers} to the owner's shard; then drop the constraint"
    )


def member(column: str = "member_id", exists: bool = True) -> Distribution:
    return Distribution(Key.member, column, exists, "users")


def merchant(column: str = "merchant_id", exists: bool = True) -> Distribution:
    return Distribution(Key.merchant, column, exists, "redemptions")


def ledger(exists: bool) -> Distribution:
    return Distribution(Key.ledger_owner, "owner_key", exists, "ledger_accounts")


CHECKED_BY_CALLER = "drop it: {who} is the signed-in caller, checked when the row is written"
USER_CHECKED = (
    "drop it: a reference table cannot reference a distributed one; {service} checks the "
    "user when it writes the row (users are closed, never deleted)"
)
OWNER_PAIR = "FOREIGN KEY ({lead}, {column}) REFERENCES {parent} ({lead}, id)"
