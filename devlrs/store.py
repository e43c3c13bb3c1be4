"""The in-memory statement store of devlrs, with the counters tests read.

One lock guards everything, so a batch is checked and stored atomically: of
two concurrent batches holding the same id exactly one is stored.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any


class Conflict(Exception):
    """Some statement ids of a batch are already stored."""

    def __init__(self, ids: Sequence[str]) -> None:
        super().__init__(f"statement id(s) already stored: {', '.join(ids)}")
        self.ids = list(ids)


@dataclass(frozen=True)
class Record:
    """One stored statement; ``seq`` gives the store order."""

    seq: int
    stored_at: datetime
    statement: dict[str, Any]


def format_time(moment: datetime) -> str:
    """UTC ISO 8601 with a ``Z``, to the microsecond."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


class Store:
    """Stored statements, attachments and request counters (thread-safe)."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._lock = threading.Lock()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._seq = 0
        self._clear()

    def _clear(self) -> None:
        self._records: dict[str, Record] = {}
        self._order: list[Record] = []
        self._attachments: dict[str, bytes] = {}
        self._received: Counter[str] = Counter()
        self._stored_count: Counter[str] = Counter()
        self._requests: Counter[str] = Counter()
        self._authorizations_failed = 0
        self._last_stored: datetime | None = None

    def reset(self) -> None:
        """Forget every statement, attachment and counter."""
        with self._lock:
            self._clear()

    # -- counters ------------------------------------------------------------------
    def note_received(self, ids: Iterable[str]) -> None:
        with self._lock:
            self._received.update(ids)

    def note_request(self, method: str, status: int) -> None:
        with self._lock:
            self._requests[f"{method} {status}"] += 1

    def note_authorization_failed(self) -> None:
        with self._lock:
            self._authorizations_failed += 1

    # -- statements ------------------------------------------------------------------
    def add(
        self,
        statements: Sequence[dict[str, Any]],
        authority: Mapping[str, Any],
        attachments: Mapping[str, bytes] | None = None,
    ) -> list[str]:
        """Store the whole batch or nothing; raise :class:`Conflict` on known ids.

        Sets ``stored``, ``authority`` and (if absent) ``version`` on shallow
        copies of the statements; ids must already be set, unique and lower
        case.  The store keeps the nested values: do not change them later.
        """
        ids = [str(s["id"]) for s in statements]
        with self._lock:
            known = [i for i in ids if i in self._records]
            if known:
                raise Conflict(known)
            now = self._clock()
            if self._last_stored is not None and now < self._last_stored:
                now = self._last_stored  # never go back in store order
            self._last_stored = now
            stamp = format_time(now)
            authority_copy = copy.deepcopy(dict(authority))
            for statement in statements:
                stored = dict(statement)
                stored["stored"] = stamp
                stored["authority"] = authority_copy
                stored.setdefault("version", "1.0.0")
                self._seq += 1
                record = Record(self._seq, now, stored)
                self._records[stored["id"]] = record
                self._order.append(record)
                self._stored_count[stored["id"]] += 1
            self._attachments.update(attachments or {})
        return ids

    def get(self, statement_id: str) -> dict[str, Any] | None:
        """A copy of the stored statement, or None."""
        with self._lock:
            record = self._records.get(statement_id.lower())
        return None if record is None else copy.deepcopy(record.statement)

    def attachment(self, sha2: str) -> bytes | None:
        with self._lock:
            return self._attachments.get(sha2)

    def select(
        self,
        keep: Callable[[Record], bool],
        *,
        ascending: bool,
        after: int | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Up to ``limit`` matching statements past cursor ``after``.

        Returns copies and the cursor to continue from (None: no more).
        """
        with self._lock:
            records = self._order if ascending else reversed(self._order)
            found: list[Record] = []
            for record in records:
                if after is not None and (
                    record.seq <= after if ascending else record.seq >= after
                ):
                    continue
                if keep(record):
                    if len(found) == limit:
                        return [copy.deepcopy(r.statement) for r in found], found[
                            -1
                        ].seq
                    found.append(record)
        return [copy.deepcopy(r.statement) for r in found], None

    def latest(self, count: int) -> list[Record]:
        """The ``count`` most recently stored statements, newest first."""
        with self._lock:
            return list(reversed(self._order[-count:])) if count > 0 else []

    def consistent_through(self) -> str:
        """The time up to which every stored statement is visible (now)."""
        now = self._clock()
        with self._lock:
            if self._last_stored is not None and now < self._last_stored:
                now = self._last_stored + timedelta(microseconds=1)
        return format_time(now)

    def __len__(self) -> int:
        with self._lock:
            return len(self._order)

    def request_counts(self) -> tuple[dict[str, int], int]:
        """Requests by ``"METHOD STATUS"``, and failed authorizations."""
        with self._lock:
            return dict(self._requests), self._authorizations_failed

    def snapshot(self) -> dict[str, Any]:
        """Everything the control API shows, read in one go."""
        with self._lock:
            return {
                "stored_ids": [r.statement["id"] for r in self._order],
                "received": dict(self._received),
                "stored_count": dict(self._stored_count),
                "requests": dict(self._requests),
                "authorizations_failed": self._authorizations_failed,
                "attachments": sorted(self._attachments),
            }
