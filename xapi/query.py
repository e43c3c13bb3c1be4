"""The query of GET /xapi/statements (xAPI 1.0.3 Communication 2.1.3), checked.

Plain strings in, a frozen query out, or a `QueryError` whose message a client
developer can act on: an LRS client that sends a bad filter should learn which
parameter is wrong and why, not get an empty list that looks like "no data".

Continuation ("more") tokens carry the whole query plus the position of the
last statement served, signed with HMAC-SHA256 under a key the caller passes
in, so a client can page through but cannot widen a query or forge a position.

No Flask, no SQLAlchemy: this module is usable by any xAPI reader.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from xapi.identity import AgentError, agent_key

SERVER_MAX = 500
"""Most statements one page holds (also what `limit=0` means)."""

DEFAULT_PAGE = 100
"""Page size when the client sends no `limit`."""

FORMATS = ("exact", "ids", "canonical")

FILTERS = (
    "agent",
    "verb",
    "activity",
    "registration",
    "since",
    "until",
    "limit",
    "ascending",
    "related_activities",
    "related_agents",
)
"""Parameters of a list query (Communication 2.1.3, Table 2.1.3.s3)."""

SINGLE = ("statementId", "voidedStatementId")
ALWAYS_ALLOWED = ("format", "attachments")
CURSOR = "cursor"
KNOWN = frozenset((*FILTERS, *SINGLE, *ALWAYS_ALLOWED, CURSOR))

_CURSOR_VERSION = 1
_CURSOR_DOMAIN = b"tierpath xapi statements more v1\x00"
_MAX_TOKEN = 8192
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
_WHOLE_NUMBER = re.compile(r"[0-9]+")


class QueryError(ValueError):
    """The request's parameters cannot be served; the message says why."""


@dataclass(frozen=True)
class Position:
    """Where a page ended: the (stored, seq) of its last statement."""

    stored: datetime
    seq: int


@dataclass(frozen=True)
class StatementQuery:
    """A list query. `agent` is an IFI key (`xapi.identity.agent_key`).

    `since` is exclusive and `until` inclusive, both compared with `stored`;
    `limit` is the page size (1 to SERVER_MAX); `after` is set when the query
    continues from a `more` token.
    """

    agent: str | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_PAGE
    ascending: bool = False
    format: str = "exact"
    after: Position | None = None


@dataclass(frozen=True)
class SingleStatement:
    """A query for one statement by id; `voided` for `voidedStatementId`."""

    statement_id: str
    voided: bool = False
    format: str = "exact"


def single_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Collect query parameters, refusing one given twice.

    A repeated `verb=` would otherwise be silently narrowed to its first value,
    and the client would think it had asked for both.
    """
    values: dict[str, str] = {}
    repeated: list[str] = []
    for name, value in pairs:
        if name in values and name not in repeated:
            repeated.append(name)
        values.setdefault(name, value)
    if repeated:
        raise QueryError(f"each parameter may be given once: {', '.join(repeated)}")
    return values


def parse_statement_query(
    params: Mapping[str, str], cursor_key: bytes
) -> StatementQuery | SingleStatement:
    """Check every parameter and return the query, or raise QueryError.

    A `cursor` (from a previous page's `more`) replaces the parameters: it
    already carries them, so it must come alone.
    """
    unknown = sorted(set(params) - KNOWN)
    if unknown:
        raise QueryError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''}:"
            f" {', '.join(unknown)} (supported: {', '.join(sorted(KNOWN - {CURSOR}))})"
        )
    if CURSOR in params:
        if len(params) > 1:
            raise QueryError(
                "a cursor carries the whole query; request the `more` URL"
                " exactly as it was given, without other parameters"
            )
        return decode_cursor(params[CURSOR], cursor_key)
    output = _format(params.get("format"))
    _refuse_true("attachments", params, "attachments are not served by this endpoint")
    if any(name in params for name in SINGLE):
        return _single(params, output)
    return _list_query(params, output)


def _single(params: Mapping[str, str], output: str) -> SingleStatement:
    """statementId or voidedStatementId, alone but for format and attachments."""
    if all(name in params for name in SINGLE):
        raise QueryError("send statementId or voidedStatementId, not both")
    name = "statementId" if "statementId" in params else "voidedStatementId"
    others = sorted(set(params) - {name, *ALWAYS_ALLOWED})
    if others:
        raise QueryError(
            f"{name} cannot be combined with {', '.join(others)}"
            " (only format and attachments may go with it)"
        )
    return SingleStatement(
        statement_id=_uuid(name, params[name]),
        voided=name == "voidedStatementId",
        format=output,
    )


def _list_query(params: Mapping[str, str], output: str) -> StatementQuery:
    """The filters of a list query, each checked."""
    for name in ("related_activities", "related_agents"):
        _refuse_true(
            name,
            params,
            f"{name}=true is not supported: filters match the statement's own"
            " actor and object only",
        )
    agent = params.get("agent")
    verb = params.get("verb")
    activity = params.get("activity")
    registration = params.get("registration")
    since = params.get("since")
    until = params.get("until")
    return StatementQuery(
        agent=None if agent is None else _agent(agent),
        verb=None if verb is None else _iri("verb", verb),
        activity=None if activity is None else _iri("activity", activity),
        registration=None
        if registration is None
        else _uuid("registration", registration),
        since=None if since is None else _timestamp("since", since),
        until=None if until is None else _timestamp("until", until),
        limit=_limit(params.get("limit")),
        ascending=_boolean("ascending", params.get("ascending", "false")),
        format=output,
    )


def _boolean(name: str, value: str) -> bool:
    if value == "true":
        return True
    if value == "false":
        return False
    raise QueryError(f"{name} must be true or false, not {value!r}")


def _refuse_true(name: str, params: Mapping[str, str], message: str) -> None:
    """Accept `name=false` (the default); refuse `true` with `message`."""
    if name in params and _boolean(name, params[name]):
        raise QueryError(message)


def _format(value: str | None) -> str:
    if value is None:
        return "exact"
    if value not in FORMATS:
        raise QueryError(f"format must be one of {', '.join(FORMATS)}, not {value!r}")
    return value


def _uuid(name: str, value: str) -> str:
    """A UUID in canonical (lower-case, hyphenated) form, as statements store it."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise QueryError(f"{name} must be a UUID, not {value!r}") from None


def _iri(name: str, value: str) -> str:
    if not _IRI.fullmatch(value):
        raise QueryError(
            f"{name} must be an absolute IRI such as https://example.com/…,"
            f" not {value!r}"
        )
    return value


def _agent(value: str) -> str:
    """The IFI key of the Agent (or identified Group) given as JSON."""
    try:
        parsed = json.loads(value)
    except ValueError:
        raise QueryError(
            'agent must be a JSON object, e.g. {"mbox": "mailto:ana@example.com"}'
            ' or {"account": {"homePage": "https://lms.example.com", "name": "42"}}'
            " (URL-encoded)"
        ) from None
    if isinstance(parsed, dict) and parsed.get("objectType", "Agent") not in (
        "Agent",
        "Group",
    ):
        raise QueryError("agent's objectType must be Agent or Group")
    try:
        return agent_key(parsed)
    except AgentError as exc:
        raise QueryError(f"agent is not usable: {exc}") from None


def _timestamp(name: str, value: str) -> datetime:
    """An ISO 8601 timestamp with a timezone, in UTC.

    A timestamp without a zone would be read differently by every server;
    tierpath refuses it rather than guess.
    """
    hint = (
        " (a '+' in a URL must be written %2B, or use Z for UTC)"
        if " " in value
        else ""
    )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise QueryError(
            f"{name} must be an ISO 8601 timestamp such as"
            f" 2024-05-01T08:00:00Z, not {value!r}{hint}"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise QueryError(
            f"{name} needs a timezone, e.g. 2024-05-01T08:00:00Z or"
            f" 2024-05-01T10:00:00%2B02:00, not {value!r}{hint}"
        )
    return moment.astimezone(UTC)


def _limit(value: str | None) -> int:
    """The page size: absent → DEFAULT_PAGE, 0 or too many → SERVER_MAX."""
    if value is None:
        return DEFAULT_PAGE
    if not _WHOLE_NUMBER.fullmatch(value):
        raise QueryError(
            f"limit must be a whole number, 0 or more (0 means the server's"
            f" maximum, {SERVER_MAX}), not {value!r}"
        )
    if len(value) > 9:  # far beyond any page; int() of huge digit strings is slow
        return SERVER_MAX
    number = int(value)
    return SERVER_MAX if number == 0 or number > SERVER_MAX else number


# --- continuation tokens ----------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, _CURSOR_DOMAIN + body, hashlib.sha256).digest()


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def encode_cursor(query: StatementQuery, after: Position, key: bytes) -> str:
    """A signed token for the page after `after` (URL-safe, no padding)."""
    if not key:
        raise ValueError("a cursor key is required")
    body = {
        "v": _CURSOR_VERSION,
        "agent": query.agent,
        "verb": query.verb,
        "activity": query.activity,
        "registration": query.registration,
        "since": _iso(query.since),
        "until": _iso(query.until),
        "limit": query.limit,
        "ascending": query.ascending,
        "format": query.format,
        "after": [_iso(after.stored), after.seq],
    }
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(raw)}.{_b64(_mac(key, raw))}"


_BAD_CURSOR = (
    "the cursor is not one this server issued, or it was altered;"
    " start again from /xapi/statements"
)


def decode_cursor(token: str, key: bytes) -> StatementQuery:
    """The query a token continues, or QueryError if it is forged or altered."""
    if not key:
        raise ValueError("a cursor key is required")
    if len(token) > _MAX_TOKEN or token.count(".") != 1:
        raise QueryError(_BAD_CURSOR)
    body_text, mac_text = token.split(".")
    try:
        raw, mac = _unb64(body_text), _unb64(mac_text)
    except (binascii.Error, ValueError):
        raise QueryError(_BAD_CURSOR) from None
    if not hmac.compare_digest(mac, _mac(key, raw)):
        raise QueryError(_BAD_CURSOR)
    try:
        return _query_from_body(json.loads(raw))
    except (ValueError, TypeError, KeyError):
        # Signed by us but unreadable: a token from an older, different format.
        raise QueryError(_BAD_CURSOR) from None


def _query_from_body(body: Any) -> StatementQuery:
    """Rebuild the query from a verified token body (types checked all the same)."""
    if not isinstance(body, dict) or body.get("v") != _CURSOR_VERSION:
        raise ValueError("unknown cursor version")
    stored_text, seq = body["after"]
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise TypeError("seq")
    limit = body["limit"]
    if not isinstance(limit, int) or not 1 <= limit <= SERVER_MAX:
        raise ValueError("limit")
    if body["format"] not in FORMATS or not isinstance(body["ascending"], bool):
        raise ValueError("format or ascending")
    query = StatementQuery(
        agent=_optional_text(body["agent"]),
        verb=_optional_text(body["verb"]),
        activity=_optional_text(body["activity"]),
        registration=_optional_text(body["registration"]),
        since=_optional_moment(body["since"]),
        until=_optional_moment(body["until"]),
        limit=limit,
        ascending=body["ascending"],
        format=body["format"],
    )
    stored = _optional_moment(stored_text)
    if stored is None:
        raise ValueError("position")
    return replace(query, after=Position(stored, seq))


def _optional_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError("expected text")


def _optional_moment(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("expected a timestamp")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("naive timestamp")
    return moment.astimezone(UTC)


# --- format=ids -------------------------------------------------------------------

_IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
_CONTEXT_ACTIVITY_KINDS = ("parent", "grouping", "category", "other")


def ids_only(statement: Mapping[str, Any]) -> dict[str, Any]:
    """A statement in `format=ids` (Communication 2.1.3): Agents, Groups,
    Activities and Verbs reduced to what identifies them.

    Results, timestamps and everything else stay as they are. Returns a new
    dict; `statement` is not changed.
    """
    out = dict(statement)
    if isinstance(statement.get("actor"), Mapping):
        out["actor"] = _ids_actor(statement["actor"])
    if isinstance(statement.get("verb"), Mapping):
        out["verb"] = {"id": statement["verb"].get("id")}
    if isinstance(statement.get("object"), Mapping):
        out["object"] = _ids_object(statement["object"])
    if isinstance(statement.get("context"), Mapping):
        out["context"] = _ids_context(statement["context"])
    if isinstance(statement.get("authority"), Mapping):
        out["authority"] = _ids_actor(statement["authority"])
    return out


def _ids_actor(actor: Mapping[str, Any]) -> dict[str, Any]:
    """An Agent or identified Group by its IFI; an anonymous Group by its members."""
    out = {k: actor[k] for k in ("objectType", *_IFIS) if k in actor}
    anonymous = not any(k in actor for k in _IFIS)
    if anonymous and isinstance(actor.get("member"), list):
        out["member"] = [
            _ids_actor(m) for m in actor["member"] if isinstance(m, Mapping)
        ]
    return out


def _ids_activity(activity: Mapping[str, Any]) -> dict[str, Any]:
    return {k: activity[k] for k in ("objectType", "id") if k in activity}


def _ids_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    kind = obj.get("objectType", "Activity")
    if kind in ("Agent", "Group"):
        return _ids_actor(obj)
    if kind == "SubStatement":
        return ids_only(obj)
    if kind == "Activity":
        return _ids_activity(obj)
    return dict(obj)  # StatementRef: already just an id


def _ids_context(context: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(context)
    for role in ("instructor", "team"):
        if isinstance(context.get(role), Mapping):
            out[role] = _ids_actor(context[role])
    activities = context.get("contextActivities")
    if isinstance(activities, Mapping):
        reduced: dict[str, Any] = dict(activities)
        for kind in _CONTEXT_ACTIVITY_KINDS:
            value = activities.get(kind)
            if isinstance(value, list):
                reduced[kind] = [
                    _ids_activity(a) for a in value if isinstance(a, Mapping)
                ]
            elif isinstance(value, Mapping):
                reduced[kind] = _ids_activity(value)
        out["contextActivities"] = reduced
    return out
