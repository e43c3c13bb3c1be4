"""The outbox port: the data the deliverer works on, and the store it asks for it.

The deliverer (`xapi.delivery`) never touches a database. It sees the outbox
through `OutboxStore`, a Protocol the host application implements (tierpath
does it with SQLAlchemy). Every method is its own short, committed
transaction: a worker never holds a transaction open while it waits on an LRS.

Rows are *leased*, not locked: `claim` stamps the rows it returns with a
worker name and a `lease_until`; a worker that dies mid-batch simply lets its
lease lapse and the rows become due again. Re-sending them is safe because
statement ids are deterministic and the deliverer verifies every 409.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = ["AttachmentPart", "OutboxItem", "OutboxStore", "Target"]


@dataclass(frozen=True)
class Target:
    """One external LRS statements are forwarded to."""

    id: int
    name: str
    endpoint: str  # e.g. https://lrs.example/xapi/
    username: str
    password: str = field(repr=False)  # never in a log line or a repr
    batch_size: int


@dataclass(frozen=True)
class AttachmentPart:
    """The bytes of one attachment sent in a multipart request (Communication 1.5.2).

    `sha256` is the lowercase hex SHA-256 of `data`: the value of the
    statement's `attachments[].sha2` and of the part's `X-Experience-API-Hash`.
    """

    content_type: str
    sha256: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class OutboxItem:
    """One statement due for one target, as claimed by a worker."""

    entry_id: int
    statement_id: str
    payload: Mapping[str, Any] = field(repr=False)  # the statement JSON
    recorded_at: datetime  # when it entered the outbox; give-up counts from here
    attempts: int  # failed attempts so far (retries, not releases)


class OutboxStore(Protocol):
    """What the deliverer needs from the outbox; each method commits on its own."""

    def active_targets(self) -> list[Target]:
        """Targets that are enabled and not paused."""
        ...

    def claim(
        self,
        target_id: int,
        limit: int,
        now: datetime,
        lease_until: datetime,
        worker: str,
    ) -> list[OutboxItem]:
        """Lease up to `limit` due pending rows of the target to `worker`, oldest first.

        Due = pending, `next_attempt_at <= now`, and not leased (or the lease
        lapsed). Concurrent workers must get disjoint rows.
        """
        ...

    def mark_sent(
        self, entry_ids: Sequence[int], now: datetime, status: int | None
    ) -> None:
        """The LRS has these statements; release the lease."""
        ...

    def mark_retry(
        self,
        entry_ids: Sequence[int],
        now: datetime,
        next_attempt_at: datetime,
        status: int | None,
        error: str,
    ) -> None:
        """Count an attempt, record the error, due again at `next_attempt_at`."""
        ...

    def mark_dead(
        self, entry_id: int, now: datetime, status: int | None, error: str
    ) -> None:
        """Never try this one again (until an admin re-sends it)."""
        ...

    def release(self, entry_ids: Sequence[int]) -> None:
        """Give the rows back without counting an attempt (the target is paused)."""
        ...

    def pause_target(self, target_id: int, now: datetime, reason: str) -> None:
        """Stop delivering to the target until an admin resumes it; alert them."""
        ...

    def note_result(self, target_id: int, now: datetime, error: str | None) -> None:
        """Record the target's last success (`error is None`) or last error."""
        ...

    def attachments_for(self, items: Sequence[OutboxItem]) -> list[AttachmentPart]:
        """The parts of the items' attachments that carry no `fileUrl`."""
        ...
