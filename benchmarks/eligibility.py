"""Benchmark eligibility for a whole population, and the learner home at that size.

Builds a database (SQLite in a temp dir, or --database-url / TIERPATH_DATABASE_URL
for PostgreSQL), loads the three programs in config/programs, generates and
imports N synthetic people, refreshes peer statistics, then:

  evaluate (first)   evaluate_everyone: every tier of every program for everyone,
                     stored (all rows new);
  evaluate (again)   the same day again: every decision unchanged, nothing written;
  learner home       GET /learner/ for sampled people, each through a launch of an
                     LMS user linked to that person (warm: decisions already stored).

Goals (issue): load + evaluate < 5 s for 100,000 people; learner home p95 < 50 ms.
Usage:  python benchmarks/eligibility.py [--people 100000] [--homes 200]
        [--database-url URL] [--seed 7]
Prints comparable lines; no timing assertions.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lti_tool.app import create_app
from lti_tool.db.base import utcnow
from lti_tool.db.migrate import upgrade
from lti_tool.db.models import Deployment, Person, Platform, ProgramVersion
from lti_tool.services.demo_data import generate_people_csv
from lti_tool.services.eligibility_batch import EvaluationReport, evaluate_everyone
from lti_tool.services.launches import CLAIM, record_launch
from lti_tool.services.people_import import import_people_csv
from lti_tool.services.programs import load_program
from lti_tool.services.progress import refresh_peer_stats
from lti_tool.settings import new_key_encryption_key

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


class CountingSink:
    """An event sink that only counts (the cheapest real subscriber)."""

    def __init__(self) -> None:
        self.count = 0

    def publish(self, event: object) -> None:
        self.count += 1


def _kind(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def _line(label: str, seconds: float, extra: str = "") -> None:
    print(f"{label:<34} {seconds * 1000:9.0f} ms  {extra}".rstrip(), flush=True)


def _evaluation(label: str, report: EvaluationReport, sink: CountingSink) -> None:
    t = report.timings
    goal = t["load_facts"] + t["load_peers"] + t["evaluate"]
    print(
        f"{label:<34} load_facts={t['load_facts'] * 1000:6.0f} ms"
        f"  load_peers={t['load_peers'] * 1000:4.0f} ms"
        f"  evaluate={t['evaluate'] * 1000:6.0f} ms"
        f"  load+evaluate={goal * 1000:6.0f} ms"
        f"  store={t['store'] * 1000:6.0f} ms"
        f"  total={sum(t.values()) * 1000:6.0f} ms",
        flush=True,
    )
    print(
        f"{'':<34} people={report.people} decisions={report.decisions}"
        f" inserted={report.inserted} updated={report.updated}"
        f" unchanged={report.unchanged} events={sink.count}",
        flush=True,
    )


def _build(db_url: str, people: int, seed: int, now: datetime) -> list[ProgramVersion]:
    engine = sa.create_engine(db_url)
    with orm.Session(engine, expire_on_commit=False) as session:
        versions = [
            load_program(session, path, now).version
            for path in sorted((ROOT / "config" / "programs").glob("*.toml"))
        ]
        session.commit()
        started = time.perf_counter()
        text = generate_people_csv(people, seed=seed, today=now.date())
        _line(
            "generate CSV",
            time.perf_counter() - started,
            f"rows={text.count(chr(10)) - 1}",
        )
        started = time.perf_counter()
        report = import_people_csv(session, text.encode(), now)
        session.commit()
        _line(
            "import people (incl. peer stats)",
            time.perf_counter() - started,
            f"people={report.people_created} kpi_values={report.kpi_values_written}",
        )
        started = time.perf_counter()
        groups = refresh_peer_stats(session)
        session.commit()
        _line("refresh_peer_stats", time.perf_counter() - started, f"groups={groups}")
    engine.dispose()
    return versions


def _evaluate(db_url: str, versions: list[ProgramVersion], now: datetime) -> None:
    engine = sa.create_engine(db_url)
    for label in ("evaluate_everyone (first, all new)", "evaluate_everyone (again)"):
        with orm.Session(engine) as session:
            sink = CountingSink()
            report = evaluate_everyone(session, versions, now.date(), now, sink)
            started = time.perf_counter()
            session.commit()
            commit = time.perf_counter() - started
        _evaluation(label, report, sink)
        _line("  commit", commit)
    with orm.Session(engine) as session:
        sink = CountingSink()
        report = evaluate_everyone(
            session, versions, now.date(), now, sink, store=False
        )
    _evaluation("evaluate_everyone (--no-store)", report, sink)
    engine.dispose()


def _learner_home(db_url: str, workdir: Path, homes: int, seed: int) -> None:
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "INSTANCE_PATH": str(workdir / "instance"),
            "SECRET_KEY": secrets.token_urlsafe(40),
            "KEY_ENCRYPTION_KEY": new_key_encryption_key(),
            "BASE_URL": "http://localhost",
            "LOG_LEVEL": "WARNING",
        }
    )
    engine = sa.create_engine(db_url)
    now = utcnow()
    targets: list[tuple[str, str]] = []
    with orm.Session(engine) as session:
        platform = Platform(
            name="bench",
            issuer="https://lms.bench.example",
            client_id="bench",
            auth_login_url="https://lms.bench.example/auth",
            token_url="https://lms.bench.example/token",  # noqa: S106 (a URL)
            jwks_url="https://lms.bench.example/jwks",
        )
        session.add(platform)
        session.flush()
        deployment = Deployment(platform_id=platform.id, deployment_id="dep-1")
        session.add(deployment)
        session.flush()
        ids = list(session.scalars(sa.select(Person.employee_id)))
        sample = random.Random(seed).sample(ids, min(homes, len(ids)))
        for employee_id in sample:
            claims: dict[str, Any] = {
                "sub": f"sub-{employee_id}",
                "name": employee_id,
                CLAIM + "roles": [LEARNER],
                CLAIM + "message_type": "LtiResourceLinkRequest",
                CLAIM + "target_link_uri": "http://localhost/home",
                CLAIM + "custom": {"employee_id": employee_id},
            }
            recorded = record_launch(
                session,
                claims=claims,
                platform=platform,
                deployment=deployment,
                session_token=None,
                ttl=3600,
                now=now,
            )
            assert recorded.new_session_token is not None
            targets.append((recorded.launch.id, recorded.new_session_token))
        session.commit()
    engine.dispose()
    client = app.test_client()

    def home(launch_id: str, token: str) -> float:
        client.set_cookie("tierpath_session", token, domain="localhost")
        started = time.perf_counter()
        response = client.get(f"/learner/?launch={launch_id}")
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(
                f"learner home: {response.status_code} {response.text[:300]}"
            )
        return elapsed

    home(*targets[0])  # warm up: templates, program parsing, connection pool
    latencies = sorted(home(launch_id, token) for launch_id, token in targets)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(
        f"{'learner home GET /learner/':<34} homes={len(latencies):<4}"
        f" p50={pct(0.50):6.1f} ms  p95={pct(0.95):6.1f} ms  p99={pct(0.99):6.1f} ms"
        f"  mean={statistics.fmean(latencies) * 1000:6.1f} ms",
        flush=True,
    )
    # Again: the same people, everything already decided and enrolled.
    latencies = sorted(home(launch_id, token) for launch_id, token in targets)
    print(
        f"{'learner home (second visit)':<34} homes={len(latencies):<4}"
        f" p50={pct(0.50):6.1f} ms  p95={pct(0.95):6.1f} ms  p99={pct(0.99):6.1f} ms"
        f"  mean={statistics.fmean(latencies) * 1000:6.1f} ms",
        flush=True,
    )
    app.extensions["tierpath"].engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--homes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
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
        print(
            f"# tierpath eligibility benchmark ({_kind(db_url)}):"
            f" {args.people} people, 3 programs, 7 tiers; cpus={os.cpu_count()}",
            flush=True,
        )
        now = utcnow()
        versions = _build(db_url, args.people, args.seed, now)
        _evaluate(db_url, versions, now)
        _learner_home(db_url, workdir, args.homes, args.seed)


if __name__ == "__main__":
    main()
