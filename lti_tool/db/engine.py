"""Engine and session factory for one database URL."""

from __future__ import annotations

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
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def make_session_factory(engine: sa.Engine) -> orm.sessionmaker[orm.Session]:
    """Return the session factory every unit of work uses."""
    return orm.sessionmaker(bind=engine, expire_on_commit=False)
