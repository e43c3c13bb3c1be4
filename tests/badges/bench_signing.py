"""Print sign and verify timings per badge: ours (pyld) and the node oracle.

Run: ``.venv/bin/python -m tests.badges.bench_signing`` (needs
``npm ci --prefix tools/ob-verifier`` for the node column). Prints, asserts nothing.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from badges.jsonld import canonicalize, check_safe
from badges.keys import resolver_for
from badges.proofs import verify_proof
from badges.verification import verify_credential
from tests.badges.issuing import (
    CHECKED_AT,
    ISSUER_DID,
    STATUS_LIST_URL,
    document_for,
    make_key,
    sign,
    status_list,
    tier_badge,
)

VERIFY_MJS = (
    Path(__file__).resolve().parents[2] / "tools" / "ob-verifier" / "verify.mjs"
)
ROUNDS = 200


def timed(label: str, operation: Callable[[], object], rounds: int = ROUNDS) -> None:
    started = time.perf_counter()
    operation()
    first = time.perf_counter() - started
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        operation()
        samples.append(time.perf_counter() - started)
    samples.sort()
    print(
        f"{label:<44} first {first * 1e3:7.2f} ms  median "
        f"{statistics.median(samples) * 1e3:6.2f} ms  p95 "
        f"{samples[int(len(samples) * 0.95)] * 1e3:6.2f} ms"
    )


def node_timings(payload: dict[str, Any]) -> dict[str, float] | None:
    node = shutil.which("node")
    if node is None or not (VERIFY_MJS.parent / "node_modules").is_dir():
        return None
    completed = subprocess.run(  # noqa: S603 - fixed argv, local benchmark input
        [node, str(VERIFY_MJS)],
        input=json.dumps({**payload, "repeat": ROUNDS}),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    timings: dict[str, float] = json.loads(completed.stdout)["timingsMs"]
    return timings


def main() -> None:
    key = make_key()
    unsigned = tier_badge(status_index=7)
    signed = sign(unsigned, key)
    status = status_list(key, revoked=[42])
    resolve = resolver_for({ISSUER_DID: document_for(key)})
    lists = {STATUS_LIST_URL: status}
    print(
        f"credential: {len(json.dumps(signed))} bytes JSON, "
        f"{canonicalize(unsigned).count(chr(10))} N-Quads"
    )
    timed("canonicalize (pyld URDNA2015)", lambda: canonicalize(unsigned))
    timed("safe-mode check (pyld expand)", lambda: check_safe(unsigned))
    timed("sign (safe mode + 2x canon + Ed25519)", lambda: sign(unsigned, key))
    timed("verify proof", lambda: verify_proof(signed, resolve))
    timed(
        "verify credential + status list",
        lambda: verify_credential(
            signed, resolve=resolve, now=CHECKED_AT, status_lists=lists
        ),
    )
    cases: list[tuple[str, dict[str, Any]]] = [
        ("node verify proof", {"credential": sign(tier_badge(status_index=None), key)}),
        (
            "node verify credential + status list",
            {"credential": signed, "statusLists": lists},
        ),
    ]
    for label, case in cases:
        payload = {
            **case,
            "didDocuments": {ISSUER_DID: document_for(key)},
            "now": "2026-06-01T09:30:00Z",
        }
        timings = node_timings(payload)
        if timings is None:
            print(f"{label:<44} skipped (npm ci --prefix tools/ob-verifier)")
        else:
            print(
                f"{label:<44} first {timings['first']:7.2f} ms  median "
                f"{timings['median']:6.2f} ms  p95 {timings['p95']:6.2f} ms"
            )


if __name__ == "__main__":
    main()
