"""The statement read API: GET /xapi/statements and GET /xapi/about.

A read-only subset of an xAPI 1.0.3 LRS's Statement Resource (Communication
2.1.3) over tierpath's local store, so dashboards and learning-analytics tools
can read what tierpath recorded without an external LRS. Each reader has its
own HTTP Basic key and secret (`tierpath xapi client add`), revocable alone.

Every answer is JSON, errors included (`{"error": "..."}`): xAPI clients are
programs, and an HTML error page would only confuse them. Decisions:

- `limit` is the page size: absent → 100, 0 or more than 500 → 500; further
  pages come through `more`.
- `attachments=true` and `related_activities`/`related_agents=true` are
  refused with 400 (tierpath records no attachments and matches only a
  statement's own actor and object).
- `format=canonical` returns the statements as recorded (one language each).
- `more` is `/xapi/statements?cursor=<token>`: the token carries the filters
  and the last position, signed with HMAC under the app's secret key.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from lti_tool.runtime import db, runtime
from lti_tool.services import xapi_clients
from lti_tool.services.xapi_read import StatementRow, find_statements, get_statement
from xapi.query import (
    QueryError,
    SingleStatement,
    StatementQuery,
    encode_cursor,
    ids_only,
    parse_statement_query,
    single_values,
)
from xapi.vocabulary import PROFILE, Extension

bp = Blueprint("xapi_api", __name__, url_prefix="/xapi")

API_VERSION = "1.0.3"
REALM = "tierpath xAPI"
PROFILE_EXTENSION = Extension.ABOUT_PROFILE
_SUPPORTED_VERSION = re.compile(r"(1\.0|2\.0)(\.[0-9]+)?")


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _iso_z(moment: datetime) -> str:
    """UTC with microseconds and `Z`: exact, so `since=<a stored>` repeats nothing."""
    return (
        moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    )


def _cursor_key() -> bytes:
    """The HMAC key of `more` tokens, derived from (not equal to) the secret key."""
    secret = runtime().settings.secret_key.encode("utf-8")
    return hashlib.sha256(b"tierpath xapi cursor\x00" + secret).digest()


def _authority() -> dict[str, Any]:
    """tierpath itself: it asserts every statement it serves."""
    origin = runtime().settings.base_url or request.host_url.rstrip("/")
    return {
        "objectType": "Agent",
        "account": {"homePage": origin, "name": "tierpath"},
    }


@bp.after_request
def _version_header(response: Response) -> Response:
    response.headers["X-Experience-API-Version"] = API_VERSION
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.get("/about")
def about() -> ResponseReturnValue:
    """The versions this endpoint speaks (Communication 2.7); no credentials needed."""
    return jsonify(
        {"version": [API_VERSION], "extensions": {PROFILE_EXTENSION: PROFILE}}
    )


def _authenticate() -> Response | None:
    """None if the request carries an active client's key and secret, else a 401."""
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username:
        refusal = _error(
            401,
            "credentials required: send the client key and secret as HTTP Basic"
            " authentication (an administrator creates them with"
            " `tierpath xapi client add`)",
        )
    else:
        session = db()
        client = xapi_clients.authenticate(
            session, auth.username, auth.password or "", runtime().clock()
        )
        if client is not None:
            if session.dirty:
                session.commit()  # last_used_at, at most once a minute
            return None
        refusal = _error(
            401, "the key or secret is wrong, or this client has been revoked"
        )
    refusal.headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
    return refusal


def _check_version() -> Response | None:
    sent = request.headers.get("X-Experience-API-Version")
    if sent is None:
        return _error(
            400,
            "the header X-Experience-API-Version is required (send 1.0.3)",
        )
    if not _SUPPORTED_VERSION.fullmatch(sent.strip()):
        return _error(
            400,
            f"X-Experience-API-Version {sent!r} is not supported (send 1.0.3)",
        )
    return None


def _serve(row: StatementRow, output: str) -> dict[str, Any]:
    """The statement as an LRS returns it: with stored, authority and version."""
    statement = {
        **row.payload,
        "stored": _iso_z(row.stored),
        "authority": _authority(),
        "version": API_VERSION,
    }
    return ids_only(statement) if output == "ids" else statement


@bp.get("/statements")
def statements() -> ResponseReturnValue:
    """One statement (statementId / voidedStatementId) or a page of them."""
    refusal = _authenticate()
    if refusal is None:
        refusal = _check_version()
    if refusal is not None:
        return refusal
    now = runtime().clock()
    try:
        query = parse_statement_query(
            single_values(request.args.items(multi=True)), _cursor_key()
        )
    except QueryError as exc:
        return _error(400, str(exc))
    response = _single(query) if isinstance(query, SingleStatement) else _page(query)
    if response.status_code == 200:
        response.headers["X-Experience-API-Consistent-Through"] = _iso_z(now)
    return response


def _single(query: SingleStatement) -> Response:
    row = get_statement(db(), query.statement_id, voided=query.voided)
    if row is None:
        kind = "voided statement" if query.voided else "statement"
        hint = (
            ""
            if query.voided
            else " (a voided statement is found with voidedStatementId)"
        )
        return _error(404, f"no {kind} with id {query.statement_id}{hint}")
    response = jsonify(_serve(row, query.format))
    response.last_modified = row.stored
    return response


def _page(query: StatementQuery) -> Response:
    page = find_statements(db(), query, query.limit)
    more = ""
    if page.next_after is not None:
        token = encode_cursor(query, page.next_after, _cursor_key())
        more = url_for("xapi_api.statements", cursor=token)
    return jsonify(
        {"statements": [_serve(row, query.format) for row in page.rows], "more": more}
    )


@bp.route(
    "/statements", methods=["POST", "PUT", "DELETE", "PATCH"], endpoint="read_only"
)
def read_only() -> ResponseReturnValue:
    """Writes are refused in JSON: tierpath records statements from learning events."""
    response = _error(
        405,
        "this endpoint is read-only: tierpath records statements itself, from"
        " learning events",
    )
    response.headers["Allow"] = "GET, HEAD"
    return response


@bp.route("/<path:rest>", methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"])
def not_here(rest: str) -> ResponseReturnValue:
    """Other xAPI resources (state, profiles, …) are not offered: say so in JSON."""
    return _error(
        404,
        f"/xapi/{rest} is not offered: tierpath serves /xapi/statements"
        " (GET) and /xapi/about",
    )
