"""xAPI request handling that needs no Flask: bodies, validation, queries.

Statements are validated with ralph's pydantic model of an xAPI statement
(``BaseXapiStatement``), plus the checks an LRS makes on a whole request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from ralph.models.xapi.base.statements import (  # type: ignore[import-untyped, unused-ignore]
    BaseXapiStatement,
)

from .store import Record


class LrsError(Exception):
    """An error answer: ``status`` and a message for ``{"error": ...}``."""

    def __init__(
        self, status: int, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def bad_request(message: str) -> LrsError:
    return LrsError(400, message)


# -- request bodies ----------------------------------------------------------------
@dataclass(frozen=True)
class Part:
    """One part of a ``multipart/mixed`` body."""

    headers: dict[str, str]
    content: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class WriteBody:
    """A parsed statement write: the JSON payload and attachment parts by hash."""

    payload: Any
    parts: dict[str, bytes] = field(default_factory=dict)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes, what: str = "body") -> Any:
    """Strict JSON (UTF-8, no NaN/Infinity); 400 otherwise."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as error:
        raise bad_request(f"the {what} is not valid JSON: {error}") from None


def split_multipart(body: bytes, boundary: str) -> list[Part]:
    """Split a ``multipart/mixed`` body (RFC 2046, CRLF line breaks)."""
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    chunks = (b"\r\n" + body).split(delimiter)
    if len(chunks) < 3:
        raise bad_request("the multipart body has no parts")
    parts: list[Part] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            return parts
        line_end = chunk.find(b"\r\n")
        if line_end < 0 or chunk[:line_end].strip(b" \t"):
            raise bad_request("malformed multipart boundary line")
        chunk = chunk[line_end + 2 :]
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            if not chunk.startswith(b"\r\n"):
                raise bad_request(
                    "a multipart part has no blank line after its headers"
                )
            head, content = b"", chunk[2:]
        headers: dict[str, str] = {}
        for line in head.split(b"\r\n") if head else []:
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon or not name.strip():
                raise bad_request(f"malformed multipart header line: {line!r}")
            headers[name.strip().lower()] = value.strip()
        parts.append(Part(headers, content))
    raise bad_request("the multipart body has no closing boundary")


def parse_write_body(
    mimetype: str, mimetype_params: Mapping[str, str], body: bytes
) -> WriteBody:
    """Read a statement POST/PUT body: JSON, or multipart/mixed with attachments."""
    if mimetype == "application/json":
        return WriteBody(parse_json(body))
    if mimetype != "multipart/mixed":
        raise bad_request(
            "Content-Type must be application/json or multipart/mixed,"
            f" not {mimetype or 'missing'}"
        )
    boundary = mimetype_params.get("boundary")
    if not boundary:
        raise bad_request("multipart/mixed needs a boundary parameter")
    first, *rest = split_multipart(body, boundary)
    first_type = (first.header("content-type") or "").split(";")[0].strip().lower()
    if first_type != "application/json":
        raise bad_request("the first multipart part must be application/json")
    parts: dict[str, bytes] = {}
    for index, part in enumerate(rest, start=2):
        sha2 = (part.header("x-experience-api-hash") or "").lower()
        if not sha2:
            raise bad_request(f"multipart part {index} has no X-Experience-API-Hash")
        if (part.header("content-transfer-encoding") or "").lower() != "binary":
            raise bad_request(
                f"multipart part {index} must have Content-Transfer-Encoding: binary"
            )
        if hashlib.sha256(part.content).hexdigest() != sha2:
            raise bad_request(
                f"multipart part {index}: X-Experience-API-Hash {sha2}"
                " is not the SHA-256 of its content"
            )
        parts[sha2] = part.content
    return WriteBody(parse_json(first.content, "first multipart part"), parts)


def payload_ids(payload: Any) -> list[str]:
    """Statement ids in a write payload, best effort (lower case)."""
    items = payload if isinstance(payload, list) else [payload]
    return [
        item["id"].lower()
        for item in items
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]


# -- statements ------------------------------------------------------------------------
def canonical_uuid(value: object) -> str | None:
    """``value`` as a lower-case hyphenated UUID, if it is one."""
    if not isinstance(value, str) or len(value) != 36:
        return None
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    return str(parsed) if str(parsed) == value.lower() else None


def _first_problem(error: ValidationError) -> str:
    problems = error.errors()
    first = problems[0]
    where = ".".join(str(p) for p in first["loc"]) or "statement"
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def check_statements(
    payload: Any,
    *,
    single: bool,
    rejection: Callable[[str], str | None],
) -> list[dict[str, Any]]:
    """Validate a write payload; return the statements with ids set.

    Raises a 400 :class:`LrsError` naming the first bad statement.
    """
    if single:
        if not isinstance(payload, dict):
            raise bad_request("the body must be a single statement (a JSON object)")
        items = [payload]
    elif isinstance(payload, list):
        items = payload
    elif isinstance(payload, dict):
        items = [payload]
    else:
        raise bad_request("the body must be a statement or an array of statements")
    if not items:
        raise bad_request("the batch holds no statements")
    checked: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise bad_request(f"statement at index {index} is not a JSON object")
        label = f"at index {index}"
        statement = dict(item)
        if "id" in statement:
            statement_id = canonical_uuid(statement["id"])
            if statement_id is None:
                raise bad_request(
                    f"statement {label} is invalid: id {statement['id']!r}"
                    " is not a UUID (8-4-4-4-12 hex digits)"
                )
            statement["id"] = statement_id
            label = statement_id
            reason = rejection(statement_id)
            if reason is not None:
                raise bad_request(f"statement {statement_id} is invalid: {reason}")
            if statement_id in seen:
                raise bad_request(
                    f"statement id {statement_id} occurs twice in the batch"
                )
            seen.add(statement_id)
        try:
            BaseXapiStatement.model_validate(statement)
        except ValidationError as error:
            raise bad_request(
                f"statement {label} is invalid: {_first_problem(error)}"
            ) from None
        checked.append(statement)
    for statement in checked:
        if "id" not in statement:
            statement["id"] = str(uuid.uuid4())
    return checked


def check_attachments(
    statements: Iterable[dict[str, Any]], parts: Mapping[str, bytes]
) -> None:
    """Every attachment without fileUrl needs a part, every part an attachment."""
    declared: set[str] = set()
    for statement in statements:
        for attachment in statement.get("attachments") or []:
            sha2 = str(attachment.get("sha2", "")).lower()
            declared.add(sha2)
            if not attachment.get("fileUrl") and sha2 not in parts:
                raise bad_request(
                    f"statement {statement['id']}: attachment {sha2} has no fileUrl"
                    " and no multipart part with that X-Experience-API-Hash"
                )
    unused = sorted(set(parts) - declared)
    if unused:
        raise bad_request(
            f"multipart part(s) {', '.join(unused)} match no attachment of the statements"
        )


def multipart(payload: Any, parts: Mapping[str, bytes]) -> tuple[bytes, str]:
    """A ``multipart/mixed`` body of ``payload`` and attachment parts."""
    boundary = uuid.uuid4().hex
    chunks = [
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(),
        json.dumps(payload).encode(),
    ]
    for sha2, content in parts.items():
        chunks += [
            f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {sha2}"
            "\r\n\r\n".encode(),
            content,
        ]
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/mixed; boundary={boundary}"


# -- queries ---------------------------------------------------------------------------
QUERY_PARAMS = frozenset(
    {
        "statementId",
        "voidedStatementId",
        "agent",
        "verb",
        "activity",
        "registration",
        "related_activities",
        "related_agents",
        "since",
        "until",
        "limit",
        "format",
        "attachments",
        "ascending",
    }
)
SINGLE_PARAMS = frozenset({"statementId", "voidedStatementId", "format", "attachments"})
_IFIS = ("mbox", "mbox_sha1sum", "openid", "account")


def _flag(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name, "false")
    if value not in ("true", "false"):
        raise bad_request(f"{name} must be true or false, not {value!r}")
    return value == "true"


def _time(params: Mapping[str, str], name: str) -> datetime | None:
    if name not in params:
        return None
    try:
        moment = datetime.fromisoformat(params[name])
    except ValueError:
        raise bad_request(f"{name} is not an ISO 8601 timestamp") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ifi(agent: object) -> tuple[str, str] | None:
    """The inverse functional identifier of an Agent or identified Group."""
    if not isinstance(agent, dict):
        return None
    for key in _IFIS:
        value = agent.get(key)
        if key == "account" and isinstance(value, dict):
            return key, f"{value.get('homePage')}\x00{value.get('name')}"
        if isinstance(value, str):
            return key, value
    return None


@dataclass(frozen=True)
class Query:
    """The filters of ``GET /xapi/statements`` (without statementId)."""

    agent: tuple[str, str] | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_activities: bool = False
    related_agents: bool = False
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    ascending: bool = False
    attachments: bool = False

    @classmethod
    def parse(
        cls, params: Mapping[str, str], *, default_limit: int, max_limit: int
    ) -> Query:
        """Check the query parameters; 400 for anything unknown or malformed."""
        unknown = sorted(set(params) - QUERY_PARAMS)
        if unknown:
            raise bad_request(f"unknown parameter(s): {', '.join(unknown)}")
        agent = None
        if "agent" in params:
            agent = _ifi(parse_json(params["agent"].encode(), "agent parameter"))
            if agent is None:
                raise bad_request("agent must be an Agent or Group with an identifier")
        registration = None
        if "registration" in params:
            registration = canonical_uuid(params["registration"])
            if registration is None:
                raise bad_request("registration must be a UUID")
        try:
            limit = int(params.get("limit", default_limit))
        except ValueError:
            raise bad_request("limit must be a non-negative integer") from None
        if limit < 0:
            raise bad_request("limit must be a non-negative integer")
        check_format(params)
        return cls(
            agent=agent,
            verb=params.get("verb"),
            activity=params.get("activity"),
            registration=registration,
            related_activities=_flag(params, "related_activities"),
            related_agents=_flag(params, "related_agents"),
            since=_time(params, "since"),
            until=_time(params, "until"),
            limit=max_limit if limit == 0 else min(limit, max_limit),
            ascending=_flag(params, "ascending"),
            attachments=_flag(params, "attachments"),
        )

    def matches(self, record: Record) -> bool:
        statement = record.statement
        if self.since is not None and record.stored_at <= self.since:
            return False
        if self.until is not None and record.stored_at > self.until:
            return False
        if self.verb is not None and statement["verb"].get("id") != self.verb:
            return False
        if self.registration is not None:
            registration = (statement.get("context") or {}).get("registration")
            if (
                not isinstance(registration, str)
                or registration.lower() != self.registration
            ):
                return False
        if self.activity is not None and self.activity not in self._activities(
            statement
        ):
            return False
        return self.agent is None or self.agent in self._agents(statement)

    def _activities(self, statement: dict[str, Any]) -> set[str]:
        found: set[str] = set()
        targets = [statement]
        sub = statement.get("object") or {}
        if self.related_activities and sub.get("objectType") == "SubStatement":
            targets.append(sub)
        for target in targets:
            obj = target.get("object") or {}
            if obj.get("objectType", "Activity") == "Activity" and "id" in obj:
                found.add(obj["id"])
            if self.related_activities:
                context = target.get("context") or {}
                for group in (context.get("contextActivities") or {}).values():
                    for activity in group if isinstance(group, list) else [group]:
                        if isinstance(activity, dict) and "id" in activity:
                            found.add(activity["id"])
        return found

    def _agents(self, statement: dict[str, Any]) -> set[tuple[str, str]]:
        candidates: list[object] = [statement.get("actor"), statement.get("object")]
        if self.related_agents:
            context = statement.get("context") or {}
            candidates += [
                statement.get("authority"),
                context.get("instructor"),
                context.get("team"),
            ]
            sub = statement.get("object") or {}
            if sub.get("objectType") == "SubStatement":
                candidates += [sub.get("actor"), sub.get("object")]
        found: set[tuple[str, str]] = set()
        for candidate in candidates:
            if isinstance(candidate, dict) and candidate.get("objectType") in (
                None,
                "Agent",
                "Group",
            ):
                ifi = _ifi(candidate)
                if ifi is not None:
                    found.add(ifi)
        return found


def check_format(params: Mapping[str, str]) -> None:
    fmt = params.get("format", "exact")
    if fmt not in ("exact", "ids", "canonical"):
        raise bad_request("format must be exact, ids or canonical")


def encode_more(params: Mapping[str, str], cursor: int) -> str:
    """An opaque token continuing a query after ``cursor``."""
    raw = json.dumps({"q": dict(params), "after": cursor}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_more(token: str) -> tuple[dict[str, str], int]:
    """The query and cursor in a ``more`` token; 400 if it is not ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        params, cursor = data["q"], data["after"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise bad_request("unknown or malformed more token") from None
    if (
        not isinstance(params, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())
        or not isinstance(cursor, int)
    ):
        raise bad_request("unknown or malformed more token")
    return params, cursor
