"""Delivery to a real LRS over loopback HTTP that fails on purpose.

The LRS is devlrs (a strict LRS modelled on ADL's: batches all-or-nothing,
409 for known ids), the outbox is tierpath's database, the deliverer is the
one `tierpath xapi deliver` runs. Whatever the LRS does, every statement ends
up stored there exactly once, by id, or in the dead letters with its reason.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from devlrs import LiveLrs, running_lrs
from lti_tool.db.base import utcnow
from lti_tool.db.models import LrsTarget, OutboxEntry
from lti_tool.runtime import runtime
from lti_tool.services import xapi_outbox
from lti_tool.services.xapi_recorder import (
    NewStatement,
    store_statements,
)
from lti_tool.xapi_delivery import build_deliverer
from tests.conftest import FakeClock

ROOT = Path(__file__).resolve().parents[2]


def statement(n: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"fault-test:{n}")),
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": "https://lms.test", "name": f"sub-{n % 7}"},
        },
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/completed",
            "display": {"en-US": "completed"},
        },
        "object": {
            "objectType": "Activity",
            "id": f"https://tool.test/programs/p/modules/m{n}",
        },
        "result": {"completion": True},
        "timestamp": "2026-11-23T10:00:00+00:00",
    }


@pytest.fixture
def lrs() -> Iterator[LiveLrs]:
    with running_lrs() as live:
        yield live


@pytest.fixture
def app(make_app) -> Flask:  # type: ignore[no-untyped-def]
    return make_app(  # type: ignore[no-any-return]
        XAPI_BATCH_SIZE=50,
        XAPI_RETRY_BASE=10,
        XAPI_RETRY_CAP=60,
        XAPI_LEASE=2,
        XAPI_READ_TIMEOUT=0.5,
        XAPI_CONNECT_TIMEOUT=0.5,
    )


def connect(
    app: Flask, live: LiveLrs, name: str = "lrs", password: str | None = None
) -> int:
    rt = runtime(app)
    with rt.session_factory() as session:
        target, _ = xapi_outbox.add_target(
            session,
            xapi_outbox.TargetInput(
                name,
                live.endpoint,
                live.config.username,
                password or live.config.password,
                batch_size=50,
            ),
            rt.encryptor,
            rt.clock(),
        )
        session.commit()
        return target.id


def record(app: Flask, count: int) -> list[str]:
    rt = runtime(app)
    items = [statement(n) for n in range(count)]
    with rt.session_factory() as session:
        store_statements(
            session,
            [NewStatement(s, f"test:{n}", None) for n, s in enumerate(items)],
            rt.clock(),
        )
        session.commit()
    return [s["id"] for s in items]


def deliver(app: Flask) -> str:
    return build_deliverer(runtime(app), worker="test").run_once().summary()


def outbox_states(app: Flask) -> dict[str, int]:
    with runtime(app).session_factory() as session:
        rows = session.execute(
            sa.select(OutboxEntry.status, sa.func.count()).group_by(OutboxEntry.status)
        ).all()
    return dict(rows)


def assert_stored_exactly_once(live: LiveLrs, ids: list[str]) -> None:
    state = live.store.snapshot()
    assert sorted(state["stored_ids"]) == sorted(ids)
    assert all(state["stored_count"][i] == 1 for i in ids)


def test_every_statement_arrives_once_in_batches(app: Flask, lrs: LiveLrs) -> None:
    connect(app, lrs)
    ids = record(app, 120)
    summary = deliver(app)
    assert summary.startswith("120 sent"), summary
    assert "in 3 batches" in summary
    assert_stored_exactly_once(lrs, ids)
    assert outbox_states(app) == {"sent": 120}
    assert deliver(app).startswith("0 sent")  # nothing left to do


def test_lrs_down_then_back_loses_nothing(
    app: Flask, lrs: LiveLrs, clock: FakeClock
) -> None:
    connect(app, lrs)
    ids = record(app, 30)
    lrs.stop()
    summary = deliver(app)
    assert "30 to retry" in summary
    assert "connect" in summary.lower()
    with runtime(app).session_factory() as session:
        waiting = session.scalars(sa.select(OutboxEntry)).all()
        assert {e.status for e in waiting} == {"pending"}
        assert {e.attempts for e in waiting} == {1}
        delays = {(e.next_attempt_at - clock()).total_seconds() for e in waiting}
        assert min(delays) >= 8  # base 10 s ± 20 %
        assert max(delays) <= 12
        target = session.scalar(sa.select(LrsTarget))
        assert target is not None
        assert target.last_error is not None
    assert deliver(app).startswith("0 sent")  # not due yet: no hammering
    lrs.start()
    clock.advance(seconds=13)
    assert deliver(app).startswith("30 sent")
    assert_stored_exactly_once(lrs, ids)


def test_server_errors_are_retried_with_growing_backoff(
    app: Flask, lrs: LiveLrs, clock: FakeClock
) -> None:
    connect(app, lrs)
    ids = record(app, 10)
    lrs.faults.fail_next(2, status=503, message="maintenance")
    assert "10 to retry" in deliver(app)
    clock.advance(seconds=13)
    assert "10 to retry" in deliver(app)
    with runtime(app).session_factory() as session:
        entry = session.scalar(sa.select(OutboxEntry))
        assert entry is not None
        assert entry.attempts == 2
        assert entry.last_status == 503
        assert "maintenance" in (entry.last_error or "")
        assert (entry.next_attempt_at - clock()).total_seconds() >= 16  # 20 s ± 20 %
    clock.advance(seconds=25)
    assert deliver(app).startswith("10 sent")
    assert_stored_exactly_once(lrs, ids)


def test_a_slow_lrs_that_stored_before_we_gave_up_is_not_sent_twice(
    app: Flask, lrs: LiveLrs, clock: FakeClock
) -> None:
    connect(app, lrs)
    ids = record(app, 20)
    lrs.faults.store_then_hang(1.5)  # stores, then answers after our 0.5 s timeout
    summary = deliver(app)
    assert "20 to retry" in summary
    assert "within" in summary  # "did not answer within 0.5 s"
    clock.advance(seconds=13)
    assert deliver(app).startswith(
        "20 sent"
    )  # 409, checked one by one, same statements
    assert_stored_exactly_once(lrs, ids)
    assert lrs.store.snapshot()["requests"].get("POST 409") == 1


def test_a_lost_response_after_storing_is_settled_by_checking(
    app: Flask, lrs: LiveLrs, clock: FakeClock
) -> None:
    connect(app, lrs)
    ids = record(app, 20)
    lrs.faults.store_then_fail(1, status=500)
    assert "20 to retry" in deliver(app)
    clock.advance(seconds=13)
    assert deliver(app).startswith("20 sent")
    assert_stored_exactly_once(lrs, ids)


def test_statements_the_lrs_already_has_are_recognised_not_resent(
    app: Flask, lrs: LiveLrs
) -> None:
    connect(app, lrs)
    ids = record(app, 40)
    import requests

    already = [statement(n) for n in range(0, 40, 3)]
    response = requests.post(
        lrs.endpoint + "statements",
        json=already,
        auth=lrs.auth,
        headers={"X-Experience-API-Version": "1.0.3"},
        timeout=5,
    )
    assert response.status_code == 200
    assert deliver(app).startswith("40 sent")
    assert_stored_exactly_once(lrs, ids)


def test_a_different_statement_under_our_id_becomes_a_dead_letter(
    app: Flask, lrs: LiveLrs
) -> None:
    connect(app, lrs)
    ids = record(app, 5)
    import requests

    impostor = statement(2)
    impostor["verb"] = {"id": "http://adlnet.gov/expapi/verbs/failed"}
    requests.post(
        lrs.endpoint + "statements",
        json=[impostor],
        auth=lrs.auth,
        headers={"X-Experience-API-Version": "1.0.3"},
        timeout=5,
    ).raise_for_status()
    summary = deliver(app)
    assert "4 sent" in summary
    assert "1 dead" in summary
    with runtime(app).session_factory() as session:
        [dead] = xapi_outbox.dead_letters(session)
    assert dead.statement_id == ids[2]
    assert "different statement" in (dead.last_error or "")


def test_a_bad_statement_in_the_middle_of_a_batch_is_isolated(
    app: Flask, lrs: LiveLrs, clock: FakeClock
) -> None:
    connect(app, lrs)
    ids = record(app, 50)
    bad = ids[23]
    lrs.faults.reject_ids(bad, reason="object.id is not a valid IRI")
    summary = deliver(app)
    assert summary.startswith("49 sent, 0 to retry, 1 dead"), summary
    assert_stored_exactly_once(lrs, [i for i in ids if i != bad])
    with runtime(app).session_factory() as session:
        [dead] = xapi_outbox.dead_letters(session)
        assert dead.statement_id == bad
        assert dead.last_status == 400
        assert "not a valid IRI" in (dead.last_error or "")
        # The admin fixes the cause (here: the LRS) and resends.
        lrs.faults.clear()
        assert xapi_outbox.resend_dead(session, clock()) == 1
        session.commit()
    assert deliver(app).startswith("1 sent")
    assert_stored_exactly_once(lrs, ids)


def test_refused_credentials_pause_delivery_and_alert_until_resumed(
    app: Flask, lrs: LiveLrs, caplog: pytest.LogCaptureFixture
) -> None:
    target = connect(app, lrs, password="wrong-secret")
    ids = record(app, 15)
    summary = deliver(app)
    assert "paused: lrs" in summary
    assert "wrong-secret" not in caplog.text
    assert "paused" in caplog.text
    with runtime(app).session_factory() as session:
        entries = session.scalars(sa.select(OutboxEntry)).all()
        assert {(e.status, e.attempts) for e in entries} == {("pending", 0)}
        stored_target = session.get(LrsTarget, target)
        assert stored_target is not None
        assert stored_target.paused_at is not None
        assert "401" in (stored_target.paused_reason or "")
    assert deliver(app).startswith("0 sent")  # paused: not even tried
    assert lrs.store.snapshot()["authorizations_failed"] == 1
    rt = runtime(app)
    with rt.session_factory() as session:
        found = xapi_outbox.find_target(session, "lrs")
        xapi_outbox.set_password(session, found, lrs.config.password, rt.encryptor)
        xapi_outbox.resume_target(session, found)
        session.commit()
    assert deliver(app).startswith("15 sent")
    assert_stored_exactly_once(lrs, ids)


def test_each_connected_lrs_receives_everything(
    app: Flask, lrs: LiveLrs, clock: FakeClock
) -> None:
    with running_lrs() as second:
        connect(app, lrs, "first")
        connect(app, second, "second")
        ids = record(app, 60)
        second.faults.fail_next(1, status=502)
        summary = deliver(app)
        # One LRS failing does not hold the other back; the failing one's
        # round stops at its first failed batch (no hammering).
        assert summary.startswith("60 sent, 50 to retry"), summary
        assert "second: LRS answered 502" in summary
        assert_stored_exactly_once(lrs, ids)
        assert second.store.snapshot()["stored_ids"] == []
        clock.advance(seconds=13)
        assert deliver(app).startswith("60 sent")
        assert_stored_exactly_once(second, ids)


def test_several_workers_on_postgresql_send_each_statement_once(
    app: Flask, lrs: LiveLrs, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several workers are a PostgreSQL setup (SQLite runs one)")
    import threading

    connect(app, lrs)
    ids = record(app, 600)
    lrs.faults.delay(0.02)
    workers = [build_deliverer(runtime(app), worker=f"w{n}") for n in range(3)]
    threads = [threading.Thread(target=w.run_once) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert_stored_exactly_once(lrs, ids)
    received = lrs.store.snapshot()["received"]
    assert all(received[i] == 1 for i in ids)  # no statement was even sent twice
    assert outbox_states(app) == {"sent": 600}


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(
    make_app: Callable[..., Flask],
    database_url: str,
    tmp_path: Path,
    lrs: LiveLrs,
) -> None:
    app = make_app(CLOCK=utcnow, XAPI_LEASE=2, XAPI_BATCH_SIZE=50)
    connect(app, lrs)
    ids = record(app, 100)
    lrs.faults.delay(1.0, count=1)  # the first POST is in flight when the kill comes
    env = {
        **os.environ,
        "TIERPATH_DATABASE_URL": database_url,
        "TIERPATH_KEY_ENCRYPTION_KEY": app.config["KEY_ENCRYPTION_KEY"],
        "TIERPATH_SECRET_KEY": app.config["SECRET_KEY"],
        "TIERPATH_INSTANCE_PATH": str(tmp_path / "worker"),
        "TIERPATH_XAPI_LEASE": "2",
        "TIERPATH_XAPI_BATCH_SIZE": "50",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "lti_tool.cli", "xapi", "deliver"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while not lrs.store.snapshot()["received"]:
            assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
            assert time.monotonic() < deadline, "the worker never reached the LRS"
            time.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.wait(10)
        if worker.stdout is not None:
            worker.stdout.close()
    with runtime(app).session_factory() as session:
        leased = session.scalars(
            sa.select(OutboxEntry).where(OutboxEntry.leased_by.is_not(None))
        ).all()
        assert leased, "the killed worker held a lease"
    time.sleep(2.2)  # the LRS finishes storing the orphaned batch; the lease lapses
    summary = deliver(app)
    assert summary.startswith("100 sent"), summary
    assert_stored_exactly_once(lrs, ids)
    assert outbox_states(app) == {"sent": 100}
