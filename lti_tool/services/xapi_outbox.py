"""The outbox on SQLAlchemy, and the admin's LRS targets.

`SqlOutboxStore` satisfies `xapi.outbox.OutboxStore`: each method is one short
committed transaction, so a worker never holds a database transaction open
while it waits on an LRS. Workers claim due rows with a lease (`lease_until`,
`leased_by`): on PostgreSQL the claim selects with `FOR UPDATE SKIP LOCKED` so
concurrent workers take disjoint batches; on SQLite the claim is one UPDATE
(SQLite serialises writers), so one worker at a time is the supported setup.
A killed worker's rows come back when its lease lapses; re-sending them is
safe because statement ids are deterministic and the deliverer checks 409s.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy import orm

from lti_tool.db.models import LrsTarget, OutboxEntry, StoredStatement
from lti_tool.keys import KeyEncryptor
from lti_tool.services.ports import BlobNotFoundError, BlobStore
from lti_tool.services.xapi_recorder import queue_statements
from xapi.outbox import AttachmentPart, OutboxItem, Target

_log = logging.getLogger("lti_tool.xapi")
PENDING, SENT, DEAD = "pending", "sent", "dead"


def _aad(name: str) -> str:
    return f"lrs:{name}"


class SqlOutboxStore:
    """The outbox port on tierpath's database."""

    def __init__(
        self,
        session_factory: orm.sessionmaker[orm.Session],
        encryptor: KeyEncryptor,
        blobs: BlobStore | None = None,
    ) -> None:
        self._sessions = session_factory
        self._encryptor = encryptor
        self._blobs = blobs

    def active_targets(self) -> list[Target]:
        with self._sessions() as session:
            rows = session.scalars(
                sa.select(LrsTarget)
                .where(LrsTarget.enabled.is_(True), LrsTarget.paused_at.is_(None))
                .order_by(LrsTarget.id)
            ).all()
            return [
                Target(
                    id=row.id,
                    name=row.name,
                    endpoint=row.endpoint,
                    username=row.username,
                    password=self._encryptor.open(
                        row.password_sealed, _aad(row.name)
                    ).decode(),
                    batch_size=row.batch_size,
                )
                for row in rows
            ]

    def claim(
        self,
        target_id: int,
        limit: int,
        now: datetime,
        lease_until: datetime,
        worker: str,
    ) -> list[OutboxItem]:
        due = (
            sa.select(OutboxEntry.id)
            .where(
                OutboxEntry.target_id == target_id,
                OutboxEntry.status == PENDING,
                OutboxEntry.next_attempt_at <= now,
                sa.or_(
                    OutboxEntry.lease_until.is_(None), OutboxEntry.lease_until < now
                ),
            )
            .order_by(OutboxEntry.next_attempt_at, OutboxEntry.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        with self._sessions() as session, session.begin():
            claimed = list(
                session.scalars(
                    sa.update(OutboxEntry)
                    .where(OutboxEntry.id.in_(due))
                    .values(lease_until=lease_until, leased_by=worker)
                    .returning(OutboxEntry.id)
                    .execution_options(synchronize_session=False)
                )
            )
            if not claimed:
                return []
            rows = session.execute(
                sa.select(
                    OutboxEntry.id,
                    OutboxEntry.attempts,
                    StoredStatement.id.label("statement_id"),
                    StoredStatement.payload,
                    StoredStatement.stored,
                )
                .join(StoredStatement, StoredStatement.id == OutboxEntry.statement_id)
                .where(OutboxEntry.id.in_(claimed))
                .order_by(OutboxEntry.next_attempt_at, OutboxEntry.id)
            ).all()
        return [
            OutboxItem(
                entry_id=row.id,
                statement_id=row.statement_id,
                payload=row.payload,
                recorded_at=row.stored,
                attempts=row.attempts,
            )
            for row in rows
        ]

    def _update(self, entry_ids: Sequence[int], **values: Any) -> None:
        if not entry_ids:
            return
        with self._sessions() as session, session.begin():
            session.execute(
                sa.update(OutboxEntry)
                .where(OutboxEntry.id.in_(list(entry_ids)))
                .values(lease_until=None, leased_by=None, **values)
                .execution_options(synchronize_session=False)
            )

    def mark_sent(
        self, entry_ids: Sequence[int], now: datetime, status: int | None
    ) -> None:
        self._update(
            entry_ids, status=SENT, sent_at=now, last_status=status, last_error=None
        )

    def mark_retry(
        self,
        entry_ids: Sequence[int],
        now: datetime,
        next_attempt_at: datetime,
        status: int | None,
        error: str,
    ) -> None:
        self._update(
            entry_ids,
            attempts=OutboxEntry.attempts + 1,
            next_attempt_at=next_attempt_at,
            last_status=status,
            last_error=error[:2000],
        )

    def mark_dead(
        self, entry_id: int, now: datetime, status: int | None, error: str
    ) -> None:
        self._update(
            [entry_id],
            status=DEAD,
            attempts=OutboxEntry.attempts + 1,
            last_status=status,
            last_error=error[:2000],
        )

    def release(self, entry_ids: Sequence[int]) -> None:
        self._update(entry_ids)

    def pause_target(self, target_id: int, now: datetime, reason: str) -> None:
        with self._sessions() as session, session.begin():
            target = session.get(LrsTarget, target_id)
            if target is None:
                return
            target.paused_at = now
            target.paused_reason = reason[:2000]
            target.last_error = reason[:2000]
            target.last_error_at = now
            name = target.name
        # The admin alert: the admin page shows it too, until someone resumes.
        _log.error(
            "xAPI delivery to LRS %r paused: %s. Fix the credentials or endpoint,"
            " then resume it on the admin page or with `tierpath lrs resume %s`.",
            name,
            reason,
            name,
        )

    def note_result(self, target_id: int, now: datetime, error: str | None) -> None:
        with self._sessions() as session, session.begin():
            values: dict[str, Any] = (
                {"last_success_at": now}
                if error is None
                else {"last_error": error[:2000], "last_error_at": now}
            )
            session.execute(
                sa.update(LrsTarget).where(LrsTarget.id == target_id).values(**values)
            )

    def attachments_for(self, items: Sequence[OutboxItem]) -> list[AttachmentPart]:
        """Evidence files' bytes from the blob store, by the statements' sha2.

        A file missing from the store is left out: the LRS then refuses the
        statement and it becomes a dead letter that names the problem.
        """
        if self._blobs is None:
            return []
        parts: dict[str, AttachmentPart] = {}
        for item in items:
            for attachment in item.payload.get("attachments") or ():
                if not isinstance(attachment, Mapping) or attachment.get("fileUrl"):
                    continue
                sha = str(attachment.get("sha2", "")).lower()
                if sha in parts:
                    continue
                try:
                    with self._blobs.open(sha) as stream:
                        data = stream.read()
                except (BlobNotFoundError, ValueError):
                    _log.warning(
                        "attachment %s of %s is not stored", sha, item.statement_id
                    )
                    continue
                parts[sha] = AttachmentPart(
                    content_type=str(
                        attachment.get("contentType") or "application/octet-stream"
                    ),
                    sha256=sha,
                    data=data,
                )
        return list(parts.values())


# -- admin use cases -------------------------------------------------------------


class TargetError(ValueError):
    """An LRS target could not be added or changed; the message says why."""


@dataclass(frozen=True)
class TargetInput:
    """What an admin supplies to connect an LRS."""

    name: str
    endpoint: str
    username: str
    password: str
    batch_size: int = 100


def _check_endpoint(endpoint: str) -> str:
    endpoint = endpoint.strip()
    parts = urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise TargetError(
            f"the endpoint must be an https:// URL such as https://lrs.example.com/xapi/"
            f" (got {endpoint!r})"
        )
    host = parts.hostname or ""
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    if parts.scheme == "http" and not loopback:
        raise TargetError(
            "the endpoint must use https:// (plain http is only allowed for localhost)"
        )
    if parts.query or parts.fragment:
        raise TargetError("the endpoint must not carry a query string or fragment")
    return endpoint if endpoint.endswith("/") else endpoint + "/"


def add_target(
    session: orm.Session,
    data: TargetInput,
    encryptor: KeyEncryptor,
    now: datetime,
    *,
    history: bool = True,
) -> tuple[LrsTarget, int]:
    """Connect an LRS; with `history`, queue every statement recorded so far.

    Returns the target and how many statements were queued. Flushes; the
    caller commits.
    """
    name = data.name.strip()
    if not name or len(name) > 100:
        raise TargetError("a name of 1 to 100 characters is required")
    if session.scalar(sa.select(LrsTarget.id).where(LrsTarget.name == name)):
        raise TargetError(f"an LRS named {name!r} is already connected")
    if not data.username or not data.password:
        raise TargetError("the LRS username (key) and password (secret) are required")
    if not 1 <= data.batch_size <= 1000:
        raise TargetError("the batch size must be between 1 and 1000")
    target = LrsTarget(
        name=name,
        endpoint=_check_endpoint(data.endpoint),
        username=data.username,
        password_sealed=encryptor.seal(data.password.encode(), _aad(name)),
        batch_size=data.batch_size,
        enabled=True,
        created_at=now,
    )
    session.add(target)
    session.flush()
    queued = queue_history(session, target.id, now) if history else 0
    return target, queued


def queue_history(session: orm.Session, target_id: int, now: datetime) -> int:
    """Queue every stored statement not yet queued for the target."""
    return queue_statements(session, sa.true(), LrsTarget.id == target_id, now)


def find_target(session: orm.Session, name: str) -> LrsTarget:
    target = session.scalar(sa.select(LrsTarget).where(LrsTarget.name == name))
    if target is None:
        raise TargetError(f"no LRS is connected under the name {name!r}")
    return target


def resume_target(session: orm.Session, target: LrsTarget) -> None:
    """Clear a pause (after the admin fixed credentials); due rows go out again."""
    target.paused_at = None
    target.paused_reason = None


def set_password(
    session: orm.Session, target: LrsTarget, password: str, encryptor: KeyEncryptor
) -> None:
    if not password:
        raise TargetError("the password must not be empty")
    target.password_sealed = encryptor.seal(password.encode(), _aad(target.name))


def resend_dead(
    session: orm.Session,
    now: datetime,
    *,
    target_id: int | None = None,
    entry_id: int | None = None,
) -> int:
    """Put dead letters back in the queue (all, one target's, or one)."""
    query = (
        sa.update(OutboxEntry)
        .where(OutboxEntry.status == DEAD)
        .values(
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            leased_by=None,
        )
        .execution_options(synchronize_session=False)
    )
    if target_id is not None:
        query = query.where(OutboxEntry.target_id == target_id)
    if entry_id is not None:
        query = query.where(OutboxEntry.id == entry_id)
    return int(session.execute(query).rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class TargetStatus:
    """What the admin page and `tierpath lrs list` show for one LRS."""

    target: LrsTarget
    pending: int
    due: int
    sent: int
    dead: int
    oldest_pending: datetime | None


def target_statuses(session: orm.Session, now: datetime) -> list[TargetStatus]:
    """Backlog, sent and dead counts per target (one grouped query)."""
    counts = session.execute(
        sa.select(
            OutboxEntry.target_id,
            OutboxEntry.status,
            sa.func.count(),
            sa.func.min(OutboxEntry.created_at),
            sa.func.sum(sa.case((OutboxEntry.next_attempt_at <= now, 1), else_=0)),
        ).group_by(OutboxEntry.target_id, OutboxEntry.status)
    ).all()
    by_target: dict[int, dict[str, tuple[int, datetime | None, int]]] = {}
    for target_id, status, count, oldest, due in counts:
        by_target.setdefault(target_id, {})[status] = (count, oldest, int(due or 0))
    result = []
    for target in session.scalars(sa.select(LrsTarget).order_by(LrsTarget.name)):
        mine = by_target.get(target.id, {})
        pending = mine.get(PENDING, (0, None, 0))
        result.append(
            TargetStatus(
                target=target,
                pending=pending[0],
                due=pending[2],
                sent=mine.get(SENT, (0, None, 0))[0],
                dead=mine.get(DEAD, (0, None, 0))[0],
                oldest_pending=pending[1],
            )
        )
    return result


@dataclass(frozen=True)
class DeadLetter:
    entry_id: int
    target_name: str
    statement_id: str
    verb: str
    source: str
    last_status: int | None
    last_error: str | None
    attempts: int


def dead_letters(session: orm.Session, limit: int = 100) -> list[DeadLetter]:
    rows = session.execute(
        sa.select(
            OutboxEntry.id,
            LrsTarget.name,
            OutboxEntry.statement_id,
            StoredStatement.verb,
            StoredStatement.source,
            OutboxEntry.last_status,
            OutboxEntry.last_error,
            OutboxEntry.attempts,
        )
        .join(LrsTarget, LrsTarget.id == OutboxEntry.target_id)
        .join(StoredStatement, StoredStatement.id == OutboxEntry.statement_id)
        .where(OutboxEntry.status == DEAD)
        .order_by(OutboxEntry.id.desc())
        .limit(limit)
    ).all()
    return [DeadLetter(*row) for row in rows]
