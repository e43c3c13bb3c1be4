"""The SQL outbox: leases, disjoint claims, retries, dead letters, pauses, resend."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from lti_tool.db.models import LrsTarget, OutboxEntry
from lti_tool.runtime import runtime
from lti_tool.services import xapi_outbox
from lti_tool.services.xapi_recorder import (
    NewStatement,
    store_statements,
)
from tests.conftest import FakeClock


def _statement(n: int) -> dict[str, object]:
    return {
        "id": str(uuid.UUID(int=n + 1, version=4)),
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": "https://lms.test", "name": f"s{n}"},
        },
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/completed",
            "display": {"en-US": "completed"},
        },
        "object": {"objectType": "Activity", "id": f"https://tool.test/modules/{n}"},
        "timestamp": "2026-11-23T10:00:00+00:00",
    }


def connect(app: Flask, name: str = "lrs", password: str = "secret") -> int:  # noqa: S107
    rt = runtime(app)
    with rt.session_factory() as session:
        target, _ = xapi_outbox.add_target(
            session,
            xapi_outbox.TargetInput(
                name, "https://lrs.example.com/xapi", "key", password
            ),
            rt.encryptor,
            rt.clock(),
        )
        session.commit()
        return target.id


def record(app: Flask, count: int, start: int = 0) -> None:
    rt = runtime(app)
    with rt.session_factory() as session:
        store_statements(
            session,
            [
                NewStatement(_statement(n), f"test:{n}", None)
                for n in range(start, start + count)
            ],
            rt.clock(),
        )
        session.commit()


def store(app: Flask) -> xapi_outbox.SqlOutboxStore:
    rt = runtime(app)
    return xapi_outbox.SqlOutboxStore(rt.session_factory, rt.encryptor)


def statuses(app: Flask) -> dict[str, int]:
    with runtime(app).session_factory() as session:
        rows = session.execute(
            sa.select(OutboxEntry.status, sa.func.count()).group_by(OutboxEntry.status)
        ).all()
    return dict(rows)


def test_the_secret_is_sealed_at_rest_and_opened_for_delivery(app: Flask) -> None:
    connect(app, password="s3cret-value")
    with runtime(app).session_factory() as session:
        sealed = session.scalar(sa.select(LrsTarget.password_sealed))
    assert sealed is not None
    assert b"s3cret-value" not in sealed
    [target] = store(app).active_targets()
    assert target.password == "s3cret-value"
    assert "s3cret-value" not in repr(target)


def test_claims_are_oldest_first_and_leased(app: Flask, clock: FakeClock) -> None:
    target = connect(app)
    record(app, 5)
    outbox = store(app)
    now = clock()
    first = outbox.claim(target, 3, now, now + timedelta(minutes=5), "w1")
    assert [i.statement_id for i in first] == [
        str(uuid.UUID(int=n + 1, version=4)) for n in range(3)
    ]
    second = outbox.claim(target, 10, now, now + timedelta(minutes=5), "w2")
    assert len(second) == 2  # the leased three are not handed out again
    assert outbox.claim(target, 10, now, now + timedelta(minutes=5), "w3") == []


def test_a_killed_workers_rows_come_back_after_the_lease(
    app: Flask, clock: FakeClock
) -> None:
    target = connect(app)
    record(app, 4)
    outbox = store(app)
    now = clock()
    taken = outbox.claim(target, 10, now, now + timedelta(minutes=5), "killed")
    assert len(taken) == 4
    assert outbox.claim(target, 10, now + timedelta(minutes=4), now, "w2") == []
    later = now + timedelta(minutes=5, seconds=1)
    again = outbox.claim(target, 10, later, later + timedelta(minutes=5), "w2")
    assert {i.entry_id for i in again} == {i.entry_id for i in taken}


def test_sent_retry_and_dead_rows_leave_the_queue_as_they_should(
    app: Flask, clock: FakeClock
) -> None:
    target = connect(app)
    record(app, 3)
    outbox = store(app)
    now = clock()
    a, b, c = outbox.claim(target, 3, now, now + timedelta(minutes=5), "w")
    outbox.mark_sent([a.entry_id], now, 200)
    outbox.mark_retry(
        [b.entry_id], now, now + timedelta(seconds=30), 503, "LRS answered 503"
    )
    outbox.mark_dead(c.entry_id, now, 400, "statement is invalid")
    assert statuses(app) == {"sent": 1, "pending": 1, "dead": 1}
    assert outbox.claim(target, 10, now + timedelta(seconds=29), now, "w") == []
    [retry] = outbox.claim(
        target, 10, now + timedelta(seconds=30), now + timedelta(minutes=9), "w"
    )
    assert retry.entry_id == b.entry_id
    assert retry.attempts == 1
    [dead] = xapi_outbox_dead(app)
    assert dead.last_status == 400
    assert dead.last_error == "statement is invalid"


def xapi_outbox_dead(app: Flask) -> list[xapi_outbox.DeadLetter]:
    with runtime(app).session_factory() as session:
        return xapi_outbox.dead_letters(session)


def test_resend_puts_dead_letters_back_in_the_queue(
    app: Flask, clock: FakeClock
) -> None:
    target = connect(app)
    record(app, 2)
    outbox = store(app)
    now = clock()
    for item in outbox.claim(target, 2, now, now + timedelta(minutes=5), "w"):
        outbox.mark_dead(item.entry_id, now, 400, "bad")
    with runtime(app).session_factory() as session:
        assert xapi_outbox.resend_dead(session, now, target_id=target) == 2
        session.commit()
    assert len(outbox.claim(target, 10, now, now + timedelta(minutes=5), "w")) == 2


def test_a_paused_target_is_not_delivered_to_until_resumed(
    app: Flask, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    target = connect(app)
    outbox = store(app)
    outbox.pause_target(target, clock(), "LRS answered 401: bad credentials")
    assert outbox.active_targets() == []
    assert "paused" in caplog.text
    assert "secret" not in caplog.text
    with runtime(app).session_factory() as session:
        found = xapi_outbox.find_target(session, "lrs")
        xapi_outbox.resume_target(session, found)
        session.commit()
    assert [t.id for t in outbox.active_targets()] == [target]


def test_status_counts_backlog_sent_and_dead_per_target(
    app: Flask, clock: FakeClock
) -> None:
    target = connect(app)
    record(app, 4)
    outbox = store(app)
    now = clock()
    items = outbox.claim(target, 2, now, now + timedelta(minutes=5), "w")
    outbox.mark_sent([items[0].entry_id], now, 200)
    outbox.mark_dead(items[1].entry_id, now, 400, "bad")
    with runtime(app).session_factory() as session:
        [status] = xapi_outbox.target_statuses(session, now)
    assert (status.pending, status.due, status.sent, status.dead) == (2, 2, 1, 1)


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("ftp://lrs.example.com/xapi", "https:// URL"),
        ("http://lrs.example.com/xapi", "must use https://"),
        ("https://lrs.example.com/xapi?x=1", "query string"),
    ],
)
def test_a_bad_endpoint_is_refused_with_a_reason(
    app: Flask, endpoint: str, message: str
) -> None:
    rt = runtime(app)
    with (
        rt.session_factory() as session,
        pytest.raises(xapi_outbox.TargetError, match=message),
    ):
        xapi_outbox.add_target(
            session,
            xapi_outbox.TargetInput("x", endpoint, "k", "s"),
            rt.encryptor,
            rt.clock(),
        )


def test_a_duplicate_name_is_refused(app: Flask) -> None:
    connect(app)
    with pytest.raises(xapi_outbox.TargetError, match="already connected"):
        connect(app)


def test_concurrent_workers_claim_disjoint_rows(
    app: Flask, database_url: str, clock: FakeClock
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several workers are a PostgreSQL setup (SQLite runs one)")
    target = connect(app)
    record(app, 400)
    outbox = store(app)
    now = clock()
    claimed: list[list[int]] = [[] for _ in range(4)]
    barrier = threading.Barrier(4)

    def work(n: int) -> None:
        barrier.wait()
        while True:
            items = outbox.claim(target, 7, now, now + timedelta(minutes=5), f"w{n}")
            if not items:
                return
            claimed[n].extend(i.entry_id for i in items)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    everything = [entry for part in claimed for entry in part]
    assert len(everything) == 400
    assert len(set(everything)) == 400
    assert all(part for part in claimed)  # the work was shared
