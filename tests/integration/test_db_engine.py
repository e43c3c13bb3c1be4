"""The engine hands out live connections without a ping per checkout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from lti_tool.db import engine as engine_module
from lti_tool.db.engine import make_engine


def _pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


@pytest.fixture
def pg_engine(database_url: str) -> Iterator[sa.Engine]:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (SQLite has no server connection to lose)")
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_a_connection_the_server_dropped_is_replaced(
    pg_engine: sa.Engine, engine: sa.Engine
) -> None:
    pid = _pid(pg_engine)
    with engine.connect() as admin:
        admin.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        admin.commit()
    time.sleep(0.2)  # the server's goodbye reaches the pooled socket
    assert _pid(pg_engine) != pid


def test_a_connection_in_steady_use_is_not_pinged(
    pg_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _pid(pg_engine)
    pings = 0
    original = pg_engine.dialect.do_ping

    def counting(dbapi_connection: Any) -> bool:
        nonlocal pings
        pings += 1
        return original(dbapi_connection)

    monkeypatch.setattr(pg_engine.dialect, "do_ping", counting)
    assert _pid(pg_engine) == pid
    assert pings == 0


def test_a_long_idle_connection_is_pinged(
    pg_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _pid(pg_engine)
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE", 0.0)
    pings = 0
    original = pg_engine.dialect.do_ping

    def counting(dbapi_connection: Any) -> bool:
        nonlocal pings
        pings += 1
        return original(dbapi_connection)

    monkeypatch.setattr(pg_engine.dialect, "do_ping", counting)
    assert _pid(pg_engine) == pid
    assert pings == 1
