"""Delivery sends each outbox statement exactly once, to the end, whatever the LRS answers.

The LRS fake behaves like the ADL LRS (xapi research §8): a batch holding any
known id answers 409 and stores nothing; a batch holding a bad statement
answers 400 and stores nothing; what it gives back has rewritten timestamps
and `stored` / `authority` / `version` added.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from xapi.client import LrsReply, ReplyKind
from xapi.delivery import (
    DIFFERENT_STATEMENT,
    MAX_CONFLICT_ROUNDS,
    Deliverer,
    DeliveryReport,
    Outcome,
    RetryPolicy,
    StatementClient,
    deliver_batch,
    same_statement,
)
from xapi.outbox import AttachmentPart, OutboxItem, Target

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
POLICY = RetryPolicy(base=30.0, cap=3600.0, give_up_after=timedelta(hours=24))
LRS = Target(1, "lrs", "https://lrs.example/xapi/", "tool", "hunter2", 100)
OTHER = Target(2, "other", "https://other.example/xapi/", "tool", "hunter3", 100)
NS = uuid.UUID("0f5c3f3e-1d0b-4a44-9a53-3ad0e2c5b0b1")
REGISTRATION = "3b241101-e2bb-4255-8caf-4136c566a962"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"


def statement(n: int, verb: str = COMPLETED, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(NS, str(n))),
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": "https://lms.example", "name": f"sub-{n}"},
        },
        "verb": {"id": verb, "display": {"en-US": "completed"}},
        "object": {
            "objectType": "Activity",
            "id": f"https://tool.example/programs/p/modules/m{n}",
        },
        "result": {"completion": True, "score": {"raw": 6, "max": 8, "scaled": 0.75}},
        "context": {"registration": REGISTRATION},
        "timestamp": "2026-11-23T09:30:00.024Z",
        **extra,
    }


def as_returned(sent: Mapping[str, Any]) -> dict[str, Any]:
    """What an LRS gives back for a statement: same meaning, other bytes."""
    back = dict(sent)
    back["id"] = str(sent["id"]).upper()
    back["timestamp"] = "2026-11-23T09:30:00.024000+00:00"
    back["stored"] = "2026-11-23T09:31:00.000000+00:00"
    back["authority"] = {"mbox": "mailto:admin@lrs.example", "objectType": "Agent"}
    back["version"] = "1.0.0"
    if "result" in sent:
        back["result"] = {
            **sent["result"],
            "score": {k: float(v) for k, v in sent["result"]["score"].items()},
        }
    return back


# -- fakes -------------------------------------------------------------------------


def reply(
    status: int, kind: ReplyKind, text: str, retry_after: float | None = None
) -> LrsReply:
    return LrsReply(status, kind, text, f"LRS answered {status}: {text}", retry_after)


@dataclass
class FakeLrs:
    """An LRS in memory with the ADL LRS's batch semantics."""

    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    voided: dict[str, dict[str, Any]] = field(default_factory=dict)
    bad: set[str] = field(default_factory=set)
    next_posts: list[LrsReply] = field(default_factory=list)  # forced answers
    next_gets: list[LrsReply] = field(default_factory=list)
    posts: list[list[str]] = field(default_factory=list)
    parts: list[list[str]] = field(default_factory=list)
    gets: list[tuple[str, bool]] = field(default_factory=list)

    def post_statements(
        self,
        statements: Sequence[Mapping[str, Any]],
        attachments: Sequence[AttachmentPart] = (),
    ) -> LrsReply:
        ids = [str(s["id"]) for s in statements]
        self.posts.append(ids)
        self.parts.append([p.sha256 for p in attachments])
        if self.next_posts:
            return self.next_posts.pop(0)
        for sid in ids:
            if sid in self.bad:
                return reply(
                    400, ReplyKind.REJECTED, f"statement {sid}: verb has no display"
                )
        if any(sid in self.stored or sid in self.voided for sid in ids):
            return reply(409, ReplyKind.CONFLICT, "statement id already exists")
        for s in statements:
            self.stored[str(s["id"])] = as_returned(s)
        return LrsReply(200, ReplyKind.STORED, ids, f"LRS stored {len(ids)} statements")

    def get_statement(self, statement_id: str, *, voided: bool = False) -> LrsReply:
        self.gets.append((statement_id, voided))
        if self.next_gets:
            return self.next_gets.pop(0)
        found = (self.voided if voided else self.stored).get(statement_id)
        if found is None:
            return reply(404, ReplyKind.MISCONFIGURED, "no such statement")
        return LrsReply(200, ReplyKind.STORED, found, "LRS answered 200")


@dataclass
class Row:
    entry_id: int
    target_id: int
    payload: dict[str, Any]
    recorded_at: datetime
    attempts: int = 0
    status: str = "pending"
    next_attempt_at: datetime = NOW
    lease_until: datetime | None = None
    leased_by: str | None = None
    last_status: int | None = None
    last_error: str | None = None


@dataclass
class FakeStore:
    """The outbox in memory, with the SQL store's semantics."""

    targets: list[Target] = field(default_factory=lambda: [LRS])
    rows: dict[int, Row] = field(default_factory=dict)
    paused: dict[int, str] = field(default_factory=dict)
    notes: list[tuple[int, str | None]] = field(default_factory=list)
    claims: list[tuple[int, int, datetime, datetime, str]] = field(default_factory=list)
    retry_calls: list[list[int]] = field(default_factory=list)
    parts: list[AttachmentPart] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)  # raised by active_targets

    def add(
        self,
        payload: dict[str, Any],
        *,
        target: Target = LRS,
        recorded_at: datetime = NOW,
        attempts: int = 0,
    ) -> int:
        entry_id = len(self.rows) + 1
        self.rows[entry_id] = Row(entry_id, target.id, payload, recorded_at, attempts)
        return entry_id

    def status(self, entry_id: int) -> str:
        return self.rows[entry_id].status

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows.values() if row.status == status)

    def active_targets(self) -> list[Target]:
        if self.failures:
            raise self.failures.pop(0)
        return [t for t in self.targets if t.id not in self.paused]

    def claim(
        self,
        target_id: int,
        limit: int,
        now: datetime,
        lease_until: datetime,
        worker: str,
    ) -> list[OutboxItem]:
        self.claims.append((target_id, limit, now, lease_until, worker))
        due = sorted(
            (
                row
                for row in self.rows.values()
                if row.target_id == target_id
                and row.status == "pending"
                and row.next_attempt_at <= now
                and (row.lease_until is None or row.lease_until <= now)
            ),
            key=lambda row: (row.recorded_at, row.entry_id),
        )[:limit]
        for row in due:
            row.lease_until, row.leased_by = lease_until, worker
        return [
            OutboxItem(
                r.entry_id, r.payload["id"], r.payload, r.recorded_at, r.attempts
            )
            for r in due
        ]

    def _release(self, row: Row) -> None:
        row.lease_until = row.leased_by = None

    def mark_sent(
        self, entry_ids: Sequence[int], now: datetime, status: int | None
    ) -> None:
        for entry_id in entry_ids:
            row = self.rows[entry_id]
            row.status, row.last_status, row.last_error = "sent", status, None
            self._release(row)

    def mark_retry(
        self,
        entry_ids: Sequence[int],
        now: datetime,
        next_attempt_at: datetime,
        status: int | None,
        error: str,
    ) -> None:
        self.retry_calls.append(list(entry_ids))
        for entry_id in entry_ids:
            row = self.rows[entry_id]
            row.attempts += 1
            row.next_attempt_at, row.last_status, row.last_error = (
                next_attempt_at,
                status,
                error,
            )
            self._release(row)

    def mark_dead(
        self, entry_id: int, now: datetime, status: int | None, error: str
    ) -> None:
        row = self.rows[entry_id]
        row.attempts += 1
        row.status, row.last_status, row.last_error = "dead", status, error
        self._release(row)

    def release(self, entry_ids: Sequence[int]) -> None:
        for entry_id in entry_ids:
            self._release(self.rows[entry_id])

    def pause_target(self, target_id: int, now: datetime, reason: str) -> None:
        self.paused[target_id] = reason

    def note_result(self, target_id: int, now: datetime, error: str | None) -> None:
        self.notes.append((target_id, error))

    def attachments_for(self, items: Sequence[OutboxItem]) -> list[AttachmentPart]:
        return list(self.parts)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def deliverer(
    store: FakeStore,
    lrs: FakeLrs | dict[int, StatementClient],
    *,
    clock: Clock | None = None,
    batch_size: int = 100,
    seed: int = 7,
) -> Deliverer:
    clients: dict[int, StatementClient] = (
        lrs if isinstance(lrs, dict) else {LRS.id: lrs}
    )
    return Deliverer(
        store=store,
        client_for=lambda target: clients[target.id],
        policy=POLICY,
        clock=clock or Clock(),
        rng=random.Random(seed),
        worker_id="worker-1",
        lease=timedelta(minutes=5),
        batch_size=batch_size,
    )


def item(n: int, **extra: Any) -> OutboxItem:
    payload = statement(n, **extra)
    return OutboxItem(n, payload["id"], payload, NOW, 0)


# -- the happy path ---------------------------------------------------------------


def test_a_batch_the_lrs_accepts_is_all_sent_in_one_request() -> None:
    store, lrs = FakeStore(), FakeLrs()
    ids = [store.add(statement(n)) for n in range(5)]

    report = deliverer(store, lrs).run_once()

    assert (report.sent, report.retried, report.dead, report.batches) == (5, 0, 0, 1)
    assert len(lrs.posts) == 1
    assert all(store.status(i) == "sent" for i in ids)
    assert all(
        row.attempts == 0 and row.lease_until is None for row in store.rows.values()
    )
    assert store.notes == [(LRS.id, None)]


def test_claims_are_leased_to_the_worker_in_batches_of_the_smaller_size() -> None:
    store, lrs = (
        FakeStore(targets=[Target(1, "lrs", "https://x/", "u", "p", 2)]),
        FakeLrs(),
    )
    for n in range(5):
        store.add(statement(n))

    report = deliverer(store, lrs, batch_size=3).run_once()

    assert [len(ids) for ids in lrs.posts] == [2, 2, 1]
    assert report.batches == 3
    target_id, limit, now, lease_until, worker = store.claims[0]
    assert (target_id, limit, worker) == (1, 2, "worker-1")
    assert lease_until - now == timedelta(minutes=5)


def test_max_batches_bounds_a_round_per_target() -> None:
    store, lrs = (
        FakeStore(targets=[Target(1, "lrs", "https://x/", "u", "p", 2)]),
        FakeLrs(),
    )
    for n in range(5):
        store.add(statement(n))

    report = deliverer(store, lrs).run_once(max_batches=2)

    assert report.sent == 4
    assert store.count("pending") == 1


# -- 409: all or nothing --------------------------------------------------------------


def test_a_409_batch_is_verified_per_statement_and_the_unknown_ones_resent() -> None:
    store, lrs = FakeStore(), FakeLrs()
    payloads = [statement(n) for n in range(4)]
    for payload in payloads:
        store.add(payload)
    for known in (payloads[0], payloads[2]):  # delivered before, e.g. by a dead worker
        lrs.stored[known["id"]] = as_returned(known)

    report = deliverer(store, lrs).run_once()

    assert report.sent == 4
    assert store.count("sent") == 4
    all_ids = [p["id"] for p in payloads]
    assert lrs.posts == [all_ids, [all_ids[1], all_ids[3]]]
    assert [sid for sid, _voided in lrs.gets if not _voided] == all_ids
    assert set(lrs.stored) == set(all_ids)


def test_a_different_statement_under_our_id_is_dead_and_the_rest_sent() -> None:
    store, lrs = FakeStore(), FakeLrs()
    ids = [store.add(statement(n)) for n in range(3)]
    impostor = statement(1, verb="http://adlnet.gov/expapi/verbs/failed")
    lrs.stored[impostor["id"]] = as_returned(impostor)

    report = deliverer(store, lrs).run_once()

    assert (report.sent, report.dead) == (2, 1)
    assert store.status(ids[1]) == "dead"
    assert store.rows[ids[1]].last_error == DIFFERENT_STATEMENT
    assert store.rows[ids[1]].last_status == 409
    assert store.status(ids[0]) == store.status(ids[2]) == "sent"
    assert report.last_errors == {"lrs": DIFFERENT_STATEMENT}


def test_a_voided_statement_is_found_by_voided_statement_id() -> None:
    store, lrs = FakeStore(), FakeLrs()
    payload = statement(1)
    entry = store.add(payload)
    lrs.voided[payload["id"]] = as_returned(payload)

    deliverer(store, lrs).run_once()

    assert store.status(entry) == "sent"
    assert lrs.gets == [(payload["id"], False), (payload["id"], True)]


def test_an_lrs_that_says_409_but_never_shows_the_statement_does_not_loop() -> None:
    lrs = FakeLrs(next_posts=[reply(409, ReplyKind.CONFLICT, "exists")] * 10)

    result = deliver_batch(lrs, [item(1), item(2)])

    assert len(lrs.posts) == MAX_CONFLICT_ROUNDS + 1
    assert [o.outcome for o in result.outcomes] == [Outcome.RETRY, Outcome.RETRY]
    assert "does not return them" in result.outcomes[0].message


def test_with_write_only_credentials_a_409_is_resolved_one_statement_at_a_time() -> (
    None
):
    known, unknown = item(1), item(2)
    lrs = FakeLrs(next_gets=[reply(403, ReplyKind.AUTH, "read not allowed")])
    lrs.stored[known.statement_id] = as_returned(known.payload)

    result = deliver_batch(lrs, [known, unknown])

    assert [o.outcome for o in result.outcomes] == [Outcome.SENT, Outcome.SENT]
    assert lrs.posts == [
        [known.statement_id, unknown.statement_id],
        [known.statement_id],
        [unknown.statement_id],
    ]
    assert result.pause_reason is None


# -- 400: bisect ------------------------------------------------------------------------


def test_one_bad_statement_in_a_batch_of_8_is_the_only_one_dead() -> None:
    store, lrs = FakeStore(), FakeLrs()
    ids = [store.add(statement(n)) for n in range(8)]
    bad = store.rows[ids[5]].payload["id"]
    lrs.bad.add(bad)

    report = deliverer(store, lrs).run_once()

    assert (report.sent, report.dead, report.retried) == (7, 1, 0)
    assert [i for i in ids if store.status(i) == "dead"] == [ids[5]]
    dead = store.rows[ids[5]]
    assert dead.last_error == f"LRS answered 400: statement {bad}: verb has no display"
    assert dead.last_status == 400
    assert len(lrs.stored) == 7
    assert len(lrs.posts) <= 2 * 3 + 1  # bisect: O(log n) requests per bad statement


def test_a_lone_rejected_statement_is_dead_with_the_lrs_message() -> None:
    lrs = FakeLrs(next_posts=[reply(422, ReplyKind.REJECTED, "unprocessable")])

    result = deliver_batch(lrs, [item(1)])

    (outcome,) = result.outcomes
    assert (outcome.outcome, outcome.status) == (Outcome.DEAD, 422)
    assert outcome.message == "LRS answered 422: unprocessable"


def test_each_half_of_a_bisected_batch_carries_only_its_own_attachments() -> None:
    def with_attachment(n: int, sha: str) -> OutboxItem:
        payload = statement(n, attachments=[{"sha2": sha, "contentType": "text/plain"}])
        return OutboxItem(n, payload["id"], payload, NOW, 0)

    parts = [AttachmentPart("text/plain", sha, b"-") for sha in ("a" * 64, "b" * 64)]
    batch = [
        with_attachment(0, "a" * 64),
        item(1),
        item(2),
        with_attachment(3, "b" * 64),
    ]
    lrs = FakeLrs(bad={batch[3].statement_id})

    result = deliver_batch(lrs, batch, parts)

    assert [o.outcome for o in result.outcomes] == [Outcome.SENT] * 3 + [Outcome.DEAD]
    assert lrs.parts == [["a" * 64, "b" * 64], ["a" * 64], ["b" * 64], [], ["b" * 64]]


# -- credentials and endpoints -----------------------------------------------------------


def test_a_401_pauses_the_target_and_counts_no_attempt() -> None:
    store = FakeStore(targets=[LRS, OTHER])
    lrs = FakeLrs(next_posts=[reply(401, ReplyKind.AUTH, "bad credentials")])
    healthy = FakeLrs()
    ids = [store.add(statement(n)) for n in range(3)]
    other_id = store.add(statement(9), target=OTHER)
    run = deliverer(store, {LRS.id: lrs, OTHER.id: healthy})

    report = run.run_once()

    assert report.paused_targets == ["lrs"]
    assert store.paused == {LRS.id: "LRS answered 401: bad credentials"}
    assert report.released == 3
    for entry_id in ids:
        row = store.rows[entry_id]
        assert (row.status, row.attempts, row.lease_until) == ("pending", 0, None)
    assert store.status(other_id) == "sent"
    assert len(lrs.posts) == 1

    run.run_once()  # a paused target is left alone
    assert len(lrs.posts) == 1


def test_a_wrong_endpoint_pauses_the_target_like_bad_credentials() -> None:
    store = FakeStore()
    lrs = FakeLrs(next_posts=[reply(404, ReplyKind.MISCONFIGURED, "Not Found")])
    store.add(statement(1))

    report = deliverer(store, lrs).run_once()

    assert report.paused_targets == ["lrs"]
    assert store.count("pending") == 1


def test_an_endpoint_the_client_refuses_pauses_the_target() -> None:
    store = FakeStore()
    store.add(statement(1))

    def refuse(_target: Target) -> StatementClient:
        raise ValueError("LRS endpoint must be an http(s) URL")

    run = Deliverer(
        store, refuse, POLICY, Clock(), random.Random(1), "w", timedelta(minutes=5), 10
    )
    report = run.run_once()

    assert report.paused_targets == ["lrs"]
    assert "not usable" in store.paused[LRS.id]
    assert store.claims == []


# -- retries ---------------------------------------------------------------------------


@pytest.mark.parametrize("attempts", [0, 3, 20])
def test_a_503_schedules_a_retry_within_the_jitter_band(attempts: int) -> None:
    store = FakeStore()
    lrs = FakeLrs(next_posts=[reply(503, ReplyKind.RETRY, "down for maintenance")])
    entry = store.add(statement(1), attempts=attempts)

    report = deliverer(store, lrs).run_once()

    row = store.rows[entry]
    delay = (row.next_attempt_at - NOW).total_seconds()
    expected = min(POLICY.cap, POLICY.base * 2**attempts)
    assert 0.8 * expected <= delay <= 1.2 * expected
    assert (row.status, row.attempts, row.last_status) == ("pending", attempts + 1, 503)
    assert row.last_error == "LRS answered 503: down for maintenance"
    assert report.retried == 1
    assert store.notes == [(LRS.id, "LRS answered 503: down for maintenance")]


def test_retry_after_is_honoured() -> None:
    store = FakeStore()
    lrs = FakeLrs(
        next_posts=[reply(429, ReplyKind.RETRY, "slow down", retry_after=120)]
    )
    entry = store.add(statement(1), attempts=5)

    deliverer(store, lrs).run_once()

    assert store.rows[entry].next_attempt_at == NOW + timedelta(seconds=120)


def test_a_statement_past_the_give_up_age_is_dead_with_the_last_error() -> None:
    store = FakeStore()
    lrs = FakeLrs(next_posts=[reply(503, ReplyKind.RETRY, "down")])
    old = store.add(statement(1), recorded_at=NOW - timedelta(hours=25))
    young = store.add(statement(2), recorded_at=NOW - timedelta(hours=1))

    report = deliverer(store, lrs).run_once()

    assert (report.dead, report.retried) == (1, 1)
    assert store.status(old) == "dead"
    assert store.rows[old].last_error == "LRS answered 503: down (gave up after 1 day)"
    assert store.status(young) == "pending"


def test_an_lrs_that_stops_answering_ends_the_targets_round() -> None:
    store, lrs = (
        FakeStore(targets=[Target(1, "lrs", "https://x/", "u", "p", 2)]),
        FakeLrs(),
    )
    lrs.next_posts = [
        LrsReply(None, ReplyKind.RETRY, None, "LRS did not answer within 30 s")
    ]
    for n in range(5):
        store.add(statement(n))

    report = deliverer(store, lrs).run_once()

    assert len(lrs.posts) == 1
    assert (report.retried, store.count("pending")) == (2, 5)
    assert sum(1 for row in store.rows.values() if row.attempts) == 2


def test_rows_that_failed_together_are_retried_in_one_update() -> None:
    store = FakeStore()
    lrs = FakeLrs(next_posts=[reply(502, ReplyKind.RETRY, "bad gateway")])
    ids = [store.add(statement(n)) for n in range(4)]

    deliverer(store, lrs).run_once()

    assert store.retry_calls == [ids]


def test_an_outage_while_verifying_a_409_retries_what_is_not_settled() -> None:
    known, unknown, later = item(1), item(2), item(3)
    lrs = FakeLrs()
    lrs.stored[known.statement_id] = as_returned(known.payload)
    lrs.next_gets = [
        LrsReply(200, ReplyKind.STORED, as_returned(known.payload), "ok"),
        reply(404, ReplyKind.MISCONFIGURED, "no such statement"),
        reply(404, ReplyKind.MISCONFIGURED, "no such statement"),
        LrsReply(None, ReplyKind.RETRY, None, "could not connect to lrs.example:443"),
    ]

    result = deliver_batch(lrs, [known, unknown, later])

    assert [o.outcome for o in result.outcomes] == [
        Outcome.SENT,
        Outcome.RETRY,
        Outcome.RETRY,
    ]
    assert len(lrs.posts) == 1


def test_a_bug_while_delivering_retries_the_batch_instead_of_looping() -> None:
    class Broken:
        def post_statements(
            self,
            statements: Sequence[Mapping[str, Any]],
            attachments: Sequence[AttachmentPart] = (),
        ) -> LrsReply:
            raise RuntimeError("boom")

        def get_statement(self, statement_id: str, *, voided: bool = False) -> LrsReply:
            raise AssertionError("unused")

    store = FakeStore()
    entry = store.add(statement(1))

    report = deliverer(store, {LRS.id: Broken()}).run_once()

    assert report.retried == 1
    assert (
        store.rows[entry].last_error
        == "internal error while delivering (RuntimeError: boom)"
    )


# -- the loop ----------------------------------------------------------------------------


def test_run_forever_survives_a_store_failure_and_stops_on_the_event(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="xapi.delivery")
    store, lrs = FakeStore(failures=[RuntimeError("database is locked")]), FakeLrs()
    for n in range(3):
        store.add(statement(n))
    stop = threading.Event()
    worker = threading.Thread(
        target=deliverer(store, lrs).run_forever, args=(stop, 0.01)
    )

    worker.start()
    deadline = time.monotonic() + 5
    while store.count("sent") < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    worker.join(2)

    assert not worker.is_alive()
    assert store.count("sent") == 3
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failures
    assert failures[0].name == "xapi.delivery"
    assert "RuntimeError: database is locked" in failures[0].getMessage()
    assert "hunter2" not in caplog.text
    assert "sub-1" not in caplog.text  # no payloads in the log


def test_run_forever_returns_at_once_when_already_stopped() -> None:
    stop = threading.Event()
    stop.set()
    store = FakeStore()

    deliverer(store, FakeLrs()).run_forever(stop, 60)

    assert store.claims == []


def test_the_report_summarises_the_round() -> None:
    report = DeliveryReport(
        sent=3,
        retried=1,
        dead=1,
        batches=2,
        paused_targets=["lrs"],
        last_errors={"lrs": "x"},
    )

    assert report.summary() == (
        "3 sent, 1 to retry, 1 dead in 2 batches; paused: lrs\n  lrs: x"
    )


# -- policy and comparison ---------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap_with_20_percent_jitter() -> None:
    rng = random.Random(3)
    for attempts in range(0, 15):
        expected = min(3600.0, 30.0 * 2**attempts)
        for _ in range(50):
            assert 0.8 * expected <= POLICY.delay(attempts, rng) <= 1.2 * expected
    assert POLICY.delay(10_000, rng) <= 1.2 * 3600


def test_give_up_counts_from_when_the_statement_was_recorded() -> None:
    assert not POLICY.gives_up(NOW, NOW + timedelta(hours=23, minutes=59))
    assert POLICY.gives_up(NOW, NOW + timedelta(hours=24))


def test_a_nonsensical_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="base"):
        RetryPolicy(base=60, cap=30, give_up_after=timedelta(hours=1))


def test_same_statement_ignores_what_an_lrs_rewrites() -> None:
    sent = statement(1)
    assert same_statement(sent, as_returned(sent))


@pytest.mark.parametrize(
    "change",
    [
        {"verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}},
        {"actor": {"account": {"homePage": "https://lms.example", "name": "someone"}}},
        {"object": {"id": "https://tool.example/elsewhere"}},
        {
            "result": {
                "completion": True,
                "score": {"raw": 7, "max": 8, "scaled": 0.875},
            }
        },
        {"context": {"registration": "11111111-2222-4333-8444-555555555555"}},
        {"id": "00000000-0000-4000-8000-000000000000"},
    ],
)
def test_same_statement_sees_a_different_meaning(change: dict[str, Any]) -> None:
    assert not same_statement(statement(1), {**statement(1), **change})


def test_same_statement_says_no_to_something_that_is_not_a_statement() -> None:
    assert not same_statement(statement(1), {"id": statement(1)["id"]})
