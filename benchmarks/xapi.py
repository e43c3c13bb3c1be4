"""Benchmark recording xAPI statements, and delivering them to an LRS.

Builds a database (SQLite in a temp dir, or --database-url / TIERPATH_DATABASE_URL
for PostgreSQL), loads PartnerHero STEP, enrols --learners people, connects one
LRS target and pre-fills the store with --stored statements (default 1,000,000,
each with a sent outbox row, as after months of use). Then:

  record (single event)  one unit of work per event: a submitted attempt row,
                         its statement and outbox row, committed (like a
                         learner's POST);
  record (batches)       --batch events per transaction (a bulk import path):
                         the attempts, then their statements in one multi-row
                         insert, committed;
  deliver                the outbox drained by the real deliverer to the
                         development LRS (`python -m devlrs`, another process)
                         over loopback HTTP, batches of --lrs-batch.

Goals (issue 5): >= 3,000 statements/s recorded in batches, >= 500/s single-event,
with 1,000,000 statements stored, on SQLite and PostgreSQL.
Usage:  python benchmarks/xapi.py [--stored 1000000] [--single 2000]
        [--batched 20000] [--batch 500] [--database-url URL]
Prints comparable lines; no timing assertions.
"""

from __future__ import annotations

import argparse
import copy
import multiprocessing
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import orm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lti_tool.db.engine import make_engine
from lti_tool.db.migrate import upgrade
from lti_tool.db.models import (
    Attempt,
    Deployment,
    Enrolment,
    LmsUser,
    LrsTarget,
    OutboxEntry,
    Person,
    Platform,
    ProgramVersion,
    StoredStatement,
)
from lti_tool.domain.events import AssessmentAttempted
from lti_tool.keys import KeyEncryptor
from lti_tool.services import xapi_outbox
from lti_tool.services.programs import load_program, program_of
from lti_tool.services.xapi_recorder import StatementRecorder
from lti_tool.settings import decode_key_encryption_key, new_key_encryption_key

BASE = "https://tierpath.bench.example"
ISSUER = "https://lms.bench.example"


def _kind(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def _line(label: str, count: int, seconds: float, extra: str = "") -> None:
    rate = count / seconds if seconds else float("inf")
    print(
        f"{label:<28} {count:>9} in {seconds:7.2f} s = {rate:9.0f}/s  {extra}".rstrip(),
        flush=True,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Fixture:
    """The people, enrolments and program the benchmark records against."""

    def __init__(
        self, version: ProgramVersion, enrolments: list[tuple[str, int]]
    ) -> None:

        self.enrolments = enrolments  # (enrolment id, person id)
        program = program_of(version)
        tier = program.tiers[0]
        self.program_id = program.id
        self.tier_id = tier.id
        self.modules = [m.id for m in tier.modules]
        self.forms = {m.id: m.pre_test.forms[0].id for m in tier.modules}


def _build(
    session: orm.Session,
    learners: int,
    now: datetime,
    encryptor: KeyEncryptor,
    lrs: str,
) -> Fixture:
    version = load_program(
        session, ROOT / "config" / "programs" / "partnerhero-step.toml", now
    ).version
    platform = Platform(
        name="bench",
        issuer=ISSUER,
        client_id="bench",
        auth_login_url=f"{ISSUER}/auth",
        token_url=f"{ISSUER}/token",
        jwks_url=f"{ISSUER}/jwks",
    )
    session.add(platform)
    session.flush()
    session.add(Deployment(platform_id=platform.id, deployment_id="dep-1"))
    tier = program_of(version).tiers[0]
    enrolments: list[tuple[str, int]] = []
    for n in range(learners):
        person = Person(employee_id=f"E{n:06d}", updated_at=now)
        session.add(person)
        session.flush()
        session.add(
            LmsUser(
                platform_id=platform.id,
                sub=f"sub-{n}",
                person_id=person.id,
                first_launch_at=now,
                last_launch_at=now,
            )
        )
        enrolment = Enrolment(
            id=str(uuid.uuid4()),
            person_id=person.id,
            program_version_id=version.id,
            tier_id=tier.id,
            state="in_progress",
            started_at=now,
            started_reason="eligible",
        )
        session.add(enrolment)
        enrolments.append((enrolment.id, person.id))
    xapi_outbox.add_target(
        session,
        xapi_outbox.TargetInput(
            "bench-lrs", lrs, "tierpath", "devlrs-secret", batch_size=100
        ),
        encryptor,
        now,
        history=False,
    )
    session.commit()
    return Fixture(version, enrolments)


def _prefill(engine: sa.Engine, fixture: Fixture, count: int, now: datetime) -> None:
    """Insert `count` statements (and sent outbox rows) as months of history."""
    if count <= 0:
        return
    with orm.Session(engine) as session:
        session.add(
            Attempt(
                enrolment_id=fixture.enrolments[0][0],
                person_id=fixture.enrolments[0][1],
                module_id=fixture.modules[0],
                kind="pre",
                attempt_number=1,
                form_id=fixture.forms[fixture.modules[0]],
                presented=[],
                started_at=now,
                submitted_at=now,
                points=5,
                max_points=8,
                passed=True,
            )
        )
        session.flush()
        recorder = StatementRecorder(session, BASE)
        attempt_id = session.scalar(sa.select(sa.func.max(Attempt.id)))
        assert attempt_id is not None
        recorder.publish(_event(fixture, 0, attempt_id, "pre", now))
        template = session.scalar(sa.select(StoredStatement))
        assert template is not None
        payload, agent, verb, activity = (
            template.payload,
            template.agent,
            template.verb,
            template.activity,
        )
        session.rollback()
    started = time.perf_counter()
    chunk = 20_000
    done = 0
    oldest = now - timedelta(days=180)
    step = timedelta(days=180) / count
    with engine.begin() as conn:
        target_id = conn.scalar(sa.select(sa.func.min(LrsTarget.id)))
    while done < count:
        rows = []
        outbox = []
        for n in range(done, min(count, done + chunk)):
            sid = str(uuid.UUID(int=n + 1, version=4))
            enrolment_id, person_id = fixture.enrolments[n % len(fixture.enrolments)]
            body = copy.copy(payload)
            body["id"] = sid
            stored = oldest + step * n
            rows.append(
                {
                    "id": sid,
                    "source": f"history:{n}",
                    "person_id": person_id,
                    "agent": agent,
                    "verb": verb,
                    "activity": activity,
                    "registration": enrolment_id,
                    "timestamp": stored,
                    "stored": stored,
                    "voided": False,
                    "payload": body,
                }
            )
            outbox.append(
                {
                    "statement_id": sid,
                    "target_id": target_id,
                    "status": "sent",
                    "attempts": 1,
                    "next_attempt_at": stored,
                    "created_at": stored,
                    "sent_at": stored,
                }
            )
        with engine.begin() as conn:
            conn.execute(sa.insert(StoredStatement), rows)
            conn.execute(sa.insert(OutboxEntry), outbox)
        done += len(rows)
        if done % 200_000 == 0 or done == count:
            print(
                f"  prefilled {done:>9} statements ({time.perf_counter() - started:6.1f} s)",
                flush=True,
            )


def _event(
    fixture: Fixture, n: int, attempt_id: int, kind: str, now: datetime
) -> AssessmentAttempted:
    enrolment_id, person_id = fixture.enrolments[n % len(fixture.enrolments)]
    return AssessmentAttempted(
        occurred_at=now,
        enrolment_id=enrolment_id,
        person_id=person_id,
        program_id=fixture.program_id,
        tier_id=fixture.tier_id,
        module_id=fixture.modules[n % len(fixture.modules)],
        kind=kind,
        attempt_id=attempt_id,
        attempt_number=1,
        points=6,
        max_points=8,
        passed=True,
    )


def _attempt(fixture: Fixture, n: int, kind: str, now: datetime) -> Attempt:
    enrolment_id, person_id = fixture.enrolments[n % len(fixture.enrolments)]
    module = fixture.modules[n % len(fixture.modules)]
    return Attempt(
        enrolment_id=enrolment_id,
        person_id=person_id,
        module_id=module,
        kind=kind,
        attempt_number=1,
        form_id=fixture.forms[module],
        presented=[],
        started_at=now,
        submitted_at=now,
        points=6,
        max_points=8,
        passed=True,
    )


def _single(engine: sa.Engine, fixture: Fixture, start: int, count: int) -> None:
    factory = orm.sessionmaker(engine, expire_on_commit=False)
    for n in range(start, start + count):
        now = datetime.now(UTC)
        kind = "pre" if n % 2 == 0 else "post"
        with factory() as session:
            attempt = _attempt(fixture, n, kind, now)
            session.add(attempt)
            session.flush()
            StatementRecorder(session, BASE).publish(
                _event(fixture, n, attempt.id, kind, now)
            )
            session.commit()


def _batched(
    engine: sa.Engine, fixture: Fixture, start: int, count: int, batch: int
) -> None:
    factory = orm.sessionmaker(engine, expire_on_commit=False)
    done = 0
    while done < count:
        now = datetime.now(UTC)
        size = min(batch, count - done)
        with factory() as session:
            attempts = [
                _attempt(fixture, start + done + i, "pre", now) for i in range(size)
            ]
            session.add_all(attempts)
            session.flush()
            recorder = StatementRecorder(session, BASE, buffered=True)
            for i, attempt in enumerate(attempts):
                recorder.publish(
                    _event(fixture, start + done + i, attempt.id, "pre", now)
                )
            recorder.flush()
            session.commit()
        done += size


def _work(args: tuple[str, Fixture, str, int, int, int]) -> None:
    db_url, fixture, mode, start, count, batch = args
    engine = make_engine(db_url)
    try:
        if mode == "single":
            _single(engine, fixture, start, count)
        else:
            _batched(engine, fixture, start, count, batch)
    finally:
        engine.dispose()


def _record(
    db_url: str, fixture: Fixture, mode: str, count: int, batch: int, writers: int
) -> None:
    """Record `count` events with `writers` processes (like web workers)."""
    share = count // writers
    jobs = [
        (
            db_url,
            fixture,
            mode,
            10_000_000 * (w + 1) + (0 if mode == "single" else 5_000_000),
            share,
            batch,
        )
        for w in range(writers)
    ]
    started = time.perf_counter()
    if writers == 1:
        _work(jobs[0])
    else:
        with multiprocessing.get_context("fork").Pool(writers) as pool:
            pool.map(_work, jobs)
    label = "record (single event)" if mode == "single" else "record (batches)"
    detail = "1 tx per event" if mode == "single" else f"{batch} per tx"
    _line(
        f"{label}",
        share * writers,
        time.perf_counter() - started,
        f"{detail}, {writers} writer{'s' if writers > 1 else ''}",
    )


def _deliver(db_url: str, kek: str, lrs_port: int, workdir: Path) -> None:
    from lti_tool.app import create_app
    from lti_tool.runtime import runtime
    from lti_tool.xapi_delivery import build_deliverer

    app = create_app(
        {
            "DATABASE_URL": db_url,
            "INSTANCE_PATH": str(workdir / "instance"),
            "SECRET_KEY": secrets.token_urlsafe(40),
            "KEY_ENCRYPTION_KEY": kek,
            "LOG_LEVEL": "WARNING",
        }
    )
    rt = runtime(app)
    with rt.session_factory() as session:
        pending = session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxEntry)
            .where(OutboxEntry.status == "pending")
        )
    deliverer = build_deliverer(rt, worker="bench")
    started = time.perf_counter()
    report = deliverer.run_once()
    elapsed = time.perf_counter() - started
    _line("deliver (to devlrs)", int(pending or 0), elapsed, report.summary())
    with rt.session_factory() as session:
        left = session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxEntry)
            .where(OutboxEntry.status != "sent")
        )
    print(f"{'':<28} not sent afterwards: {left}", flush=True)
    rt.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--single", type=int, default=2000)
    parser.add_argument("--batched", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--writers",
        type=int,
        default=os.cpu_count() or 1,
        help="Also measure with this many writer processes (like web workers).",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TIERPATH_BENCH_DATABASE_URL")
        or os.environ.get("TIERPATH_DATABASE_URL"),
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
        upgrade(db_url)
        kek = new_key_encryption_key()
        port = _free_port()
        lrs = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "devlrs",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--username",
                "tierpath",
                "--password",
                "devlrs-secret",
                "--quiet",
            ],
            cwd=ROOT,
        )
        try:
            print(
                f"# tierpath xAPI benchmark ({_kind(db_url)}): {args.stored} stored,"
                f" {args.learners} learners; cpus={os.cpu_count()}",
                flush=True,
            )
            engine = make_engine(db_url)
            now = datetime.now(UTC)
            with orm.Session(engine, expire_on_commit=False) as session:
                fixture = _build(
                    session,
                    args.learners,
                    now,
                    KeyEncryptor(decode_key_encryption_key(kek)),
                    f"http://127.0.0.1:{port}/xapi/",
                )
            started = time.perf_counter()
            _prefill(engine, fixture, args.stored, now)
            _line("prefill (bulk insert)", args.stored, time.perf_counter() - started)
            engine.dispose()
            for writers in sorted({1, args.writers}):
                _record(db_url, fixture, "single", args.single, args.batch, writers)
                _record(db_url, fixture, "batched", args.batched, args.batch, writers)
            _deliver(db_url, kek, port, workdir)
        finally:
            lrs.terminate()
            lrs.wait(10)


if __name__ == "__main__":
    main()
