"""Prometheus metrics.

Two kinds of figures:
- **Counters and histograms kept in the process**: requests and latency per route, the
  business events (redemptions, purchases, refund outcomes) and each worker step's runs,
  failures and duration. Business events count only once their transaction commits
  (`count_on_commit`), so a rolled-back request never moves a counter.
- **Figures read from the database at scrape time**: queue depth and the age of the oldest due
  row per queue, refunds by status, and the notification outbox's backlog per sink. They are
  the truth shared by every process, so they are not kept per process.

With several app processes, set `PROMETHEUS_MULTIPROC_DIR` (`redcard serve --workers N` does)
to a directory the processes share; `/metrics` then sums them (prometheus-client's
multiprocess mode). Without it each process reports its own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.orm import Session as SyncSession

CONTENT_TYPE = CONTENT_TYPE_LATEST

HTTP_REQUESTS = Counter(
    "redcard_http_requests",
    "HTTP requests served, by route template, method and status code",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "redcard_http_request_duration_seconds",
    "Time to serve a request, by route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
REDEMPTIONS = Counter(
    "redcard_redemptions",
    "Committed redemptions (a code at the till, or a paid 买单), and undos",
    ["kind", "outcome"],
)
PURCHASES = Counter(
    "redcard_purchases", "Card orders paid and confirmed, by plan kind", ["plan_kind"]
)
REFUNDS = Counter(
    "redcard_refunds", "Refunds reaching a status (requested, succeeded, failed…)", ["status"]
)
WORKER_RUNS = Counter("redcard_worker_step_runs", "Worker step runs", ["step"])
WORKER_FAILURES = Counter(
    "redcard_worker_step_failures", "Worker step runs that raised, and rows moved aside", ["step"]
)
WORKER_ROWS = Counter("redcard_worker_step_rows", "Rows a worker step completed", ["step"])
WORKER_DURATION = Histogram(
    "redcard_worker_step_duration_seconds",
    "Time one run of a worker step took",
    ["step"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0),
)

_PENDING = "redcard_metrics_on_commit"


def count_on_commit(session: Any, counter: Any, *labels: str, amount: float = 1) -> None:
    """Increment `counter` once the session's transaction commits (never on rollback, nor
    when the savepoint it was counted in rolls back).

    `session` is an AsyncSession or a Session; the increments wait in its `info`, each with
    the (nested) transaction it belongs to."""
    sync = getattr(session, "sync_session", session)
    within = sync.get_nested_transaction() or sync.get_transaction()
    sync.info.setdefault(_PENDING, []).append((within, counter, labels, amount))


@event.listens_for(SyncSession, "after_commit")
def _flush_counts(session: SyncSession) -> None:
    for _, counter, labels, amount in session.info.pop(_PENDING, ()):
        (counter.labels(*labels) if labels else counter).inc(amount)


def _inside(transaction: Any, rolled_back: Any) -> bool:
    while transaction is not None:
        if transaction is rolled_back:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(SyncSession, "after_soft_rollback")
def _drop_counts(session: SyncSession, previous_transaction: Any) -> None:
    """A rollback (of the whole transaction or of a savepoint) drops what was counted in it."""
    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [p for p in pending if not _inside(p[0], previous_transaction)]


class Timer:
    """`with Timer() as t: ...; t.seconds`: monotonic, for durations only (not the clock)."""

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


@dataclass
class Gauges:
    """Figures read from the database for one scrape, rendered as gauge families."""

    families: list[Metric] = field(default_factory=list)

    def add(self, name: str, doc: str, label: str, values: Iterable[tuple[str, float]]) -> None:
        family = GaugeMetricFamily(name, doc, labels=[label])
        for key, value in values:
            family.add_metric([key], value)
        self.families.append(family)


class _Snapshot(Collector):
    def __init__(self, gauges: Gauges) -> None:
        self.gauges = gauges

    def collect(self) -> Iterator[Metric]:
        yield from self.gauges.families


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render(gauges: Gauges | None = None) -> bytes:
    """The exposition text: this process's (or, in multiprocess mode, every process's)
    counters, plus the database's gauges."""
    registry: CollectorRegistry
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(REGISTRY))
    if gauges is not None:
        registry.register(_Snapshot(gauges))
    return generate_latest(registry)


class _Forward(Collector):
    """The default registry's metrics, inside a registry of one scrape."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        yield from self.source.collect()


def mark_process_dead(pid: int) -> None:
    """For a supervisor that restarts app processes in multiprocess mode."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)
