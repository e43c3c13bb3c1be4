"""Verify one Open Badges 2.0 badge offline with PyPI ``openbadges`` 1.1.2.

Runs inside tools/ob2-validator/.venv (``make ob2-validator``), never in the
project venv: the validator's pins conflict with ours and it must not see
``cryptography``.

    validate.py DOCUMENTS.json BADGE [--email EMAIL]

DOCUMENTS.json maps URLs to what is served there: a JSON document (served as
``application/ld+json``) or a ``data:<type>;base64,<data>`` string (served as
that type, for images). HTTP is mocked with ``responses``: any other URL fails
as unreachable, so nothing leaves the machine. The OB 2.0 context is served
from the copy bundled with ``openbadges``.

BADGE is a file: a baked PNG or SVG is passed to ``openbadges.verify`` as a
file; anything else is read as text (a compact JWS, a URL or JSON).

Prints ``{"valid", "errorCount", "warningCount", "errors", "messages",
"requested"}`` as JSON; exit status 0 whatever the verdict, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
from pathlib import Path
from typing import Any

import openbadges
import responses
from openbadges.verifier.openbadges_context import (
    OPENBADGES_CONTEXT_V2_DICT,
    OPENBADGES_CONTEXT_V2_URI,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_DATA_URI = re.compile(r"data:(?P<type>[^;,]+);base64,(?P<data>.*)", re.DOTALL)


def _register(mock: responses.RequestsMock, url: str, value: Any) -> None:
    if isinstance(value, str):
        match = _DATA_URI.fullmatch(value)
        if match is None:
            raise SystemExit(f"{url}: a string value must be a base64 data: URI")
        mock.add(
            responses.GET,
            url,
            body=base64.b64decode(match["data"]),
            content_type=match["type"],
        )
    else:
        mock.add(
            responses.GET,
            url,
            body=json.dumps(value),
            content_type="application/ld+json",
        )


def _is_image(data: bytes) -> bool:
    return data.startswith(PNG_SIGNATURE) or b"<svg" in data[:1024]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("documents", type=Path, help="JSON file: url -> document")
    parser.add_argument("badge", type=Path, help="baked PNG/SVG, or a JWS/URL/JSON")
    parser.add_argument("--email", help="recipient email to check the badge against")
    args = parser.parse_args(argv)

    documents = json.loads(args.documents.read_text(encoding="utf-8"))
    if not isinstance(documents, dict):
        parser.error("DOCUMENTS must hold a JSON object of url -> document")
    raw = args.badge.read_bytes()
    profile = {"email": args.email} if args.email is not None else None

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        _register(mock, OPENBADGES_CONTEXT_V2_URI, OPENBADGES_CONTEXT_V2_DICT)
        for url, value in documents.items():
            _register(mock, url, value)
        if _is_image(raw):
            with args.badge.open("rb") as image:
                result = openbadges.verify(
                    image, recipient_profile=profile, use_cache=False
                )
        else:
            result = openbadges.verify(
                raw.decode("utf-8").strip(), recipient_profile=profile, use_cache=False
            )
        requested = [call.request.url for call in mock.calls]

    report = result["report"]
    messages = report.get("messages", [])
    print(
        json.dumps(
            {
                "valid": bool(report.get("valid")),
                "errorCount": report.get("errorCount", 0),
                "warningCount": report.get("warningCount", 0),
                "errors": [
                    f"{m.get('name')}: {m.get('result')}"
                    for m in messages
                    if m.get("messageLevel") == "ERROR"
                ],
                "messages": messages,
                "requested": requested,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
