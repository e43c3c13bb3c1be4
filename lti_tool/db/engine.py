"""Engine and session factory for one database URL."""

from __future__ import annotations

import select
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: commits skip the fsync (the WAL is synced at checkpoints).
    # Never corrupts; an OS crash or power cut may lose the last commits.
    # Measured: single-event recording 364 -> see docs/deployment.md.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # A 64 MiB page cache per connection (default 2 MiB): with a million
    # statements the random-key indexes (statement ids, outbox keys) stay in
    # memory instead of being re-read from the OS cache on every insert.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def make_engine(url: str) -> sa.Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = sa.create_engine(url, pool_size=5, max_overflow=10)
    sa.event.listen(engine, "checkin", _note_idle)
    sa.event.listen(engine, "checkout", _ping_if_suspect(engine.dialect))
    return engine


# A pooled connection is pinged (a round trip) before reuse only when it may be
# dead: the server has sent it something while it sat in the pool (a restart,
# pg_terminate_backend or an idle timeout sends an error and closes the socket),
# or it has been idle long enough for a silent network drop. A connection in
# steady use is handed out without one: SQLAlchemy's pool_pre_ping pinged on
# every checkout, one extra round trip per unit of work (measured: about 15% of
# single-event xAPI recording on PostgreSQL).
PING_AFTER_IDLE = 10.0  # seconds


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _server_spoke(dbapi_connection: Any) -> bool:
    """True if the socket is readable (or unknown) while no query is running."""
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError, AttributeError):
        return True
    return bool(readable)


def _ping_if_suspect(dialect: Any) -> Any:
    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None:
            return  # a new connection
        if time.monotonic() - since < PING_AFTER_IDLE and not _server_spoke(
            dbapi_connection
        ):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any failure means: reconnect
            # The pool discards the connection and checks out another.
            raise sa.exc.DisconnectionError(str(exc)) from exc

    return checkout


def make_session_factory(engine: sa.Engine) -> orm.sessionmaker[orm.Session]:
    """Return the session factory every unit of work uses."""
    return orm.sessionmaker(bind=engine, expire_on_commit=False)
