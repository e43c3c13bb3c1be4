"""Benchmark signing and verifying Open Badges 3.0 credentials, ours beside node's.

Builds --credentials distinct tier badges (different ids, recipients, tiers,
alignments, evidence, status indices; signed at different seconds) for one
throwaway did:web issuer key, then runs the sections (all, or --only a,b):

  sign     add_proof per credential (eddsa-rdfc-2022: safe mode, 2x RDFC-1.0,
           Ed25519): the process's first call (cold), then median/p95;
           "pyld only" is the same with the shape cache switched off.
  verify   verify_proof per credential (no status entry), and verify_credential
           with a Bitstring status list (whose proof is checked too); the shape
           cache is emptied first, so "first" includes building a template.
  node     tools/ob-verifier/verify.mjs (@digitalbazaar/vc 7.3.0) verifying the
           same credentials in one node process: first call, median/p95 of the
           rest (needs node and `npm ci --prefix tools/ob-verifier`).
  goals    sign median vs 2 ms; verify median ours/node vs 0.5.
  completion  tier completion → badge answering at its URL, through the web app
           with a simulated LMS launch per learner (--learners, --database-url);
           goal p99 < 1 s.

Goals (issue): sign <= 2 ms per credential; verify <= 0.5x the node verifier.
Usage:  python benchmarks/badges.py [--credentials 200] [--rounds 3]
        [--only sign,verify,node,goals]
Prints comparable lines; no timing assertions. Compare ours and node only
within one run: both slow down alike on a busy machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from badges import jsonld, proofs
from badges.credentials import (
    AchievementDefinition,
    Alignment,
    EvidenceItem,
    IssuerProfile,
    StatusAllocation,
    bitstring_status_list_credential,
    open_badge_credential,
)
from badges.keys import Resolver, did_document, resolver_for, verification_method
from badges.proofs import add_proof, verify_proof
from badges.verification import verify_credential

VERIFY_MJS = ROOT / "tools" / "ob-verifier" / "verify.mjs"
ISSUER_DID = "did:web:badges.bench.example"
STATUS_LIST_URL = "https://badges.bench.example/status/1"
ISSUED_AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
CHECKED_AT = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
SIGN_GOAL_MS = 2.0
VERIFY_GOAL_RATIO = 0.5


@dataclass
class Timing:
    """One row: the first call, then the distribution of the others (ms)."""

    first: float
    median: float
    p95: float
    count: int

    @classmethod
    def of(cls, samples: list[float]) -> Timing:
        rest = sorted(samples[1:]) or samples[:1]
        return cls(
            first=samples[0],
            median=statistics.median(rest),
            p95=rest[min(len(rest) - 1, int(len(rest) * 0.95))],
            count=len(rest),
        )


@dataclass
class Bench:
    """The issuer, the credentials and whatever the sections measured."""

    args: argparse.Namespace
    key: Ed25519PrivateKey
    method_id: str
    resolve: Resolver
    did_documents: dict[str, dict[str, Any]]
    status_lists: dict[str, dict[str, Any]]
    unsigned: list[dict[str, Any]]
    unsigned_with_status: list[dict[str, Any]]
    signed: list[dict[str, Any]] = field(default_factory=list)
    signed_with_status: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, Timing] = field(default_factory=dict)


def _line(label: str, timing: Timing | None, note: str = "") -> None:
    if timing is None:
        print(f"{label:<42} {note}".rstrip(), flush=True)
        return
    print(
        f"{label:<42} first {timing.first:7.2f} ms  median {timing.median:6.3f} ms"
        f"  p95 {timing.p95:6.3f} ms  n={timing.count}  {note}".rstrip(),
        flush=True,
    )


def _timed(operation: Callable[[Any], object], items: list[Any], rounds: int) -> Timing:
    samples = []
    for _ in range(rounds):
        for item in items:
            started = time.perf_counter_ns()
            operation(item)
            samples.append((time.perf_counter_ns() - started) / 1e6)
    return Timing.of(samples)


def _reset_caches() -> None:
    jsonld._shapes.clear()
    proofs._canonical_proof_config.cache_clear()


@contextlib.contextmanager
def _pyld_only() -> Iterator[None]:
    """Switch the shape cache off: every canonicalisation runs pyld (as before it)."""
    fast = jsonld._fast_canonical
    jsonld._fast_canonical = lambda document: None
    try:
        yield
    finally:
        jsonld._fast_canonical = fast


TIERS = [
    ("tier-1", "Tier 1 Customer Care Specialist", ["Active listening"]),
    ("tier-2", "Tier 2 Resolution Specialist", ["De-escalation", "Root cause"]),
    ("tier-3", "Tier 3 Team Lead", ["Coaching", "Scheduling", "Quality review"]),
]


def _credentials(count: int, rng: random.Random, with_status: bool) -> list[Any]:
    credentials = []
    for index in range(count):
        slug, name, skills = TIERS[index % len(TIERS)]
        achievement = AchievementDefinition(
            id=f"https://badges.bench.example/achievements/{slug}",
            name=name,
            description=f"Completed all modules of {name}.",
            criteria_narrative="Complete every module; post-assessment >= 80%.",
            image_url=f"https://badges.bench.example/achievements/{slug}.png",
            alignments=tuple(
                Alignment(
                    target_name=skill,
                    target_url="https://badges.bench.example/skills/"
                    + skill.lower().replace(" ", "-"),
                    target_type="ceasn:Competency",
                )
                for skill in skills
            ),
        )
        evidence = [
            EvidenceItem(
                name="Post-assessment", narrative=f"Scored {rng.randint(80, 100)}%."
            )
        ]
        if index % 2:
            evidence.append(
                EvidenceItem(
                    name="Job rotation", narrative=f"{rng.randint(5, 40)} shifts."
                )
            )
        credentials.append(
            open_badge_credential(
                credential_id=f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}",
                issuer=IssuerProfile(
                    did=ISSUER_DID,
                    name="Contact Center Academy",
                    url="https://badges.bench.example",
                ),
                achievement=achievement,
                recipient_email=f"agent.{rng.getrandbits(40):x}@example.com",
                salt=f"{rng.getrandbits(96):024x}",
                valid_from=ISSUED_AT,
                valid_until=ISSUED_AT + timedelta(days=730),
                evidence=evidence,
                status=StatusAllocation(STATUS_LIST_URL, 10 + index)
                if with_status
                else None,
            )
        )
    return credentials


def _sign_all(bench: Bench, credentials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        add_proof(
            credential,
            bench.key,
            bench.method_id,
            ISSUED_AT + timedelta(seconds=index),
        )
        for index, credential in enumerate(credentials)
    ]


def section_sign(bench: Bench) -> None:
    rounds = bench.args.rounds
    counter = iter(range(1 << 40))

    def sign(credential: dict[str, Any]) -> object:
        created = ISSUED_AT + timedelta(seconds=next(counter))
        return add_proof(credential, bench.key, bench.method_id, created)

    timing = _timed(sign, bench.unsigned, rounds)
    bench.timings["sign"] = timing
    _line("sign (add_proof)", timing)
    _reset_caches()
    with _pyld_only():
        _line("sign, pyld only (no shape cache)", _timed(sign, bench.unsigned, rounds))


def section_verify(bench: Bench) -> None:
    rounds = bench.args.rounds
    _ensure_signed(bench)
    resolve = bench.resolve

    def proof_only(credential: dict[str, Any]) -> None:
        if not verify_proof(credential, resolve).verified:
            raise AssertionError("benchmark credential failed verification")

    def with_status(credential: dict[str, Any]) -> None:
        check = verify_credential(
            credential, resolve=resolve, now=CHECKED_AT, status_lists=bench.status_lists
        )
        if not check.verified:
            raise AssertionError(f"benchmark credential failed: {check.errors}")

    _reset_caches()
    timing = _timed(proof_only, bench.signed, rounds)
    bench.timings["verify"] = timing
    _line("verify proof (verify_proof)", timing)
    _reset_caches()
    timing = _timed(with_status, bench.signed_with_status, rounds)
    bench.timings["verify+status"] = timing
    _line("verify credential + status list", timing)
    _reset_caches()
    with _pyld_only():
        _line(
            "verify proof, pyld only (no shape cache)",
            _timed(proof_only, bench.signed, rounds),
        )


def section_node(bench: Bench) -> None:
    node = shutil.which("node")
    if node is None or not (VERIFY_MJS.parent / "node_modules").is_dir():
        _line(
            "node verify",
            None,
            "skipped: needs node and npm ci --prefix tools/ob-verifier",
        )
        return
    _ensure_signed(bench)
    for name, label, credentials in [
        ("node verify", "node verify proof (@digitalbazaar/vc)", bench.signed),
        (
            "node verify+status",
            "node verify credential + status list",
            bench.signed_with_status,
        ),
    ]:
        payload = {
            "credentials": credentials,
            "rounds": bench.args.rounds,
            "didDocuments": bench.did_documents,
            "statusLists": bench.status_lists,
            "now": CHECKED_AT.isoformat().replace("+00:00", "Z"),
        }
        completed = subprocess.run(  # noqa: S603 - fixed argv, benchmark input
            [node, str(VERIFY_MJS)],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        try:
            output = json.loads(completed.stdout)
            raw = output["timingsMs"]
        except (ValueError, KeyError):
            _line(label, None, f"failed: {(completed.stdout + completed.stderr)[:300]}")
            continue
        refused = sum(not result["verified"] for result in output["results"])
        timing = Timing(raw["first"], raw["median"], raw["p95"], raw["count"])
        bench.timings[name] = timing
        _line(label, timing, f"({refused} refused!)" if refused else "")


def section_goals(bench: Bench) -> None:
    def verdict(ok: bool) -> str:
        return "✔" if ok else "✘"

    sign = bench.timings.get("sign")
    if sign is None:
        _line("goal: sign median <= 2 ms", None, "n/a (run the sign section)")
    else:
        _line(
            "goal: sign median <= 2 ms",
            None,
            f"{sign.median:.3f} ms  {verdict(sign.median <= SIGN_GOAL_MS)}",
        )
    for ours_name, node_name, label in [
        ("verify", "node verify", "goal: verify proof ours/node <= 0.5"),
        (
            "verify+status",
            "node verify+status",
            "goal: verify + status ours/node <= 0.5",
        ),
    ]:
        ours, theirs = bench.timings.get(ours_name), bench.timings.get(node_name)
        if ours is None or theirs is None:
            _line(label, None, "n/a (run the verify and node sections)")
            continue
        ratio = ours.median / theirs.median
        _line(
            label,
            None,
            f"{ours.median:.3f} / {theirs.median:.3f} ms = {ratio:.2f}  "
            f"{verdict(ratio <= VERIFY_GOAL_RATIO)}",
        )


def _ensure_signed(bench: Bench) -> None:
    """Sign the credentials and the status list (after the sign section's cold call)."""
    if not bench.status_lists:
        status = bitstring_status_list_credential(
            list_url=STATUS_LIST_URL,
            issuer_id=ISSUER_DID,
            revoked_indices=[3, 5],
            valid_from=ISSUED_AT - timedelta(days=1),
        )
        bench.status_lists[STATUS_LIST_URL] = add_proof(
            status, bench.key, bench.method_id, ISSUED_AT
        )
    if not bench.signed:
        bench.signed = _sign_all(bench, bench.unsigned)
        bench.signed_with_status = _sign_all(bench, bench.unsigned_with_status)


def section_completion(bench: Bench) -> None:
    """Tier completion → badge at its URL, through the web app (badge_completion.py)."""
    from benchmarks.badge_completion import (
        GOAL_P99_SECONDS,
        completion_latencies,
        report,
    )

    samples = completion_latencies(bench.args.learners, bench.args.database_url)
    report(samples)
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    bench.timings["completion p99"] = Timing(
        samples[0] * 1e3, statistics.median(samples) * 1e3, p99 * 1e3, len(samples)
    )
    _line(
        "goal: completion → badge p99 < 1 s",
        None,
        f"{p99 * 1e3:.1f} ms  {'✔' if p99 < GOAL_P99_SECONDS else '✘'}",
    )


# Sections run in this order; --only picks some. Add a section by appending here.
SECTIONS: dict[str, Callable[[Bench], None]] = {
    "sign": section_sign,
    "verify": section_verify,
    "node": section_node,
    "goals": section_goals,
    "completion": section_completion,
}


def _setup(args: argparse.Namespace) -> Bench:
    rng = random.Random(args.seed)
    key = Ed25519PrivateKey.generate()
    fragment = "key-2026-01"
    method = verification_method(ISSUER_DID, fragment, key.public_key())
    did_doc = did_document(ISSUER_DID, [method])
    return Bench(
        args=args,
        key=key,
        method_id=f"{ISSUER_DID}#{fragment}",
        resolve=resolver_for({ISSUER_DID: did_doc}),
        did_documents={ISSUER_DID: did_doc},
        status_lists={},
        unsigned=_credentials(args.credentials, rng, with_status=False),
        unsigned_with_status=_credentials(args.credentials, rng, with_status=True),
    )


def _node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "none"
    completed = subprocess.run(  # noqa: S603 - fixed argv
        [node, "--version"], capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--credentials", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="passes over them")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--learners", type=int, default=100, help="completion section: learners"
    )
    parser.add_argument(
        "--database-url", default=None, help="completion section: e.g. PostgreSQL"
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections: {', '.join(SECTIONS)}",
    )
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {list(SECTIONS)}")
    if args.credentials < 2 or args.rounds < 1:
        parser.error("need --credentials >= 2 and --rounds >= 1")

    # The process's first sign is the cold "first": nothing canonicalised before.
    bench = _setup(args)
    size = len(json.dumps(bench.unsigned_with_status[0]).encode())
    print(
        f"# tierpath badges benchmark: {args.credentials} credentials x {args.rounds}"
        f" rounds (~{size} bytes JSON each); python {platform.python_version()},"
        f" pyld {metadata.version('PyLD')}, node {_node_version()},"
        f" cpus={os.cpu_count()}",
        flush=True,
    )
    for name in SECTIONS:
        if name in chosen:
            SECTIONS[name](bench)


if __name__ == "__main__":
    main()
