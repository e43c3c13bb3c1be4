"""Machine endpoints: JWKS, registration, OAuth2 token, AGS 2.0, NRPS 2.0, state.

Dynamic Registration endpoints live in :mod:`devlms.registration`.

Every service endpoint needs a bearer token issued by ``POST /token`` with a
scope that covers the operation: no/unknown/expired token -> 401, token
without the needed scope -> 403 (RFC 6750 ``insufficient_scope``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any
from urllib.parse import urlencode

import jwt
from flask import Blueprint, Response, jsonify, request
from lti1p3platform.exceptions import (
    LtiException,
    MissingRequiredClaim,
    UnsupportedGrantType,
)

from .platform import JwtValidationError
from .services import (
    ADVANTAGE_SCOPES,
    COURSE_ID,
    COURSE_LABEL,
    COURSE_TITLE,
    REPLAY_WINDOW_SECONDS,
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_NRPS,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
    USERS,
    ServiceError,
    check_review_url,
    paginate,
    parse_paging,
    role_matches,
    validate_lineitem,
    validate_score,
)
from .state import get_devlms

api = Blueprint("devlms_api", __name__)

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MT_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
MT_LINEITEMS = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MT_RESULTS = "application/vnd.ims.lis.v2.resultcontainer+json"
MT_MEMBERSHIPS = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"


def _json(
    data: Any, status: int = 200, media_type: str = "application/json"
) -> Response:
    return Response(json.dumps(data), status=status, mimetype=media_type)


@api.errorhandler(ServiceError)
def _service_error(error: ServiceError) -> Response:
    response = _json({"error": error.message}, error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    elif error.status == 403:
        response.headers["WWW-Authenticate"] = 'Bearer error="insufficient_scope"'
    return response


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    response = _json({"error": error, "error_description": description}, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _require_scope(*any_of: str) -> str:
    """Check the bearer token; return the client_id it was issued to."""
    header = request.headers.get("Authorization", "")
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise ServiceError("missing bearer token", 401)
    entry = get_devlms().store.token_entry(parts[1])
    if entry is None:
        raise ServiceError("invalid or expired bearer token", 401)
    if not entry.scopes.intersection(any_of):
        raise ServiceError(f"token lacks scope: one of {', '.join(any_of)}", 403)
    return entry.client_id


def _check_context(context_id: str) -> None:
    if context_id != COURSE_ID:
        raise ServiceError(f"unknown context {context_id}", 404)


def _body() -> Any:
    data = request.get_json(force=True, silent=True)
    if data is None:
        raise ServiceError("request body must be JSON")
    return data


def _next_link(url: str, params: dict[str, str]) -> str:
    """``Link`` header value for the next page.

    pylti1p3 lower-cases the Link header before extracting the URL, so when a
    filter value has upper-case letters the parameters travel as a lower-case
    hex ``cursor`` instead.
    """
    query = urlencode(params)
    if query != query.lower():
        query = urlencode({"cursor": json.dumps(params).encode().hex()})
    return f'<{url}?{query}>; rel="next"'


def _query_args() -> dict[str, str]:
    args = dict(request.args.items())
    cursor = args.pop("cursor", None)
    if cursor:
        try:
            decoded = json.loads(bytes.fromhex(cursor))
        except ValueError as exc:
            raise ServiceError("invalid cursor") from exc
        if not isinstance(decoded, dict):
            raise ServiceError("invalid cursor")
        args.update({str(k): str(v) for k, v in decoded.items()})
    return args


# -- keys and registration ------------------------------------------------------
@api.get("/.well-known/jwks.json")
def jwks() -> Response:
    return _json(get_devlms().key.jwks())


@api.get("/registration.json")
def registration() -> Response:
    return _json(get_devlms().config.registration())


# -- OAuth2 client credentials --------------------------------------------------
@api.post("/token")
def token() -> Response:
    devlms = get_devlms()
    cfg, store = devlms.config, devlms.store
    store.count_token_request()
    form = request.form.to_dict()
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(
            "unsupported_grant_type", "grant_type must be client_credentials"
        )
    if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
        return _oauth_error(
            "invalid_request", f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}"
        )
    assertion = form.get("client_assertion", "")
    if not assertion:
        return _oauth_error("invalid_request", "client_assertion is required")
    requested = form.get("scope", "").split()
    if not requested:
        return _oauth_error("invalid_scope", "scope is required")
    unknown = [s for s in requested if s not in ADVANTAGE_SCOPES]
    if unknown:
        return _oauth_error(
            "invalid_scope", f"unsupported scope(s): {' '.join(unknown)}"
        )

    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        return _oauth_error("invalid_client", f"client assertion rejected: {exc}", 401)
    iss = unverified.get("iss")
    tool = devlms.tool(iss) if isinstance(iss, str) else None
    if tool is None:
        return _oauth_error(
            "invalid_client", "client assertion iss is not a registered client_id", 401
        )
    not_granted = [s for s in requested if s not in tool.scopes]
    if not_granted:
        return _oauth_error(
            "invalid_scope",
            f"scope(s) not registered for this tool: {' '.join(not_granted)}",
        )

    conf = devlms.platform_conf(tool, audience=cfg.token_url)
    try:
        claims = conf.tool_validate_and_decode(assertion)
    except JwtValidationError as exc:
        return _oauth_error("invalid_client", f"client assertion rejected: {exc}", 401)
    if claims.get("iss") != tool.client_id or claims.get("sub") != tool.client_id:
        return _oauth_error(
            "invalid_client", "client assertion iss and sub must be the client_id", 401
        )
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        return _oauth_error("invalid_client", "client assertion has no jti", 401)
    if not store.consume_once("jti", jti, REPLAY_WINDOW_SECONDS):
        return _oauth_error(
            "invalid_client", "client assertion jti was already used", 401
        )

    try:
        issued = conf.get_access_token(form)
    except (
        LtiException,
        MissingRequiredClaim,
        UnsupportedGrantType,
        JwtValidationError,
    ) as exc:
        return _oauth_error("invalid_request", f"token request rejected: {exc}")
    store.add_token(issued["access_token"], frozenset(requested), tool.client_id)
    response = _json(
        {
            "access_token": issued["access_token"],
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": " ".join(requested),
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# -- AGS 2.0 --------------------------------------------------------------------
def _lineitem_json(item_id: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"id": get_devlms().config.lineitem_url(item_id), **item}


@api.get("/api/contexts/<context_id>/lineitems")
def list_lineitems(context_id: str) -> Response:
    _require_scope(SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY)
    _check_context(context_id)
    args = _query_args()
    limit, page = parse_paging(args)
    items = get_devlms().store.list_lineitems(
        resource_link_id=args.get("resource_link_id"),
        resource_id=args.get("resource_id"),
        tag=args.get("tag"),
    )
    chunk, has_next = paginate(items, limit, page)
    response = _json(
        [_lineitem_json(i, it) for i, it in chunk], media_type=MT_LINEITEMS
    )
    if has_next:
        params = {
            k: v
            for k, v in args.items()
            if k in ("resource_link_id", "resource_id", "tag")
        }
        params.update({"limit": str(limit), "page": str(page + 1)})
        response.headers["Link"] = _next_link(get_devlms().config.lineitems_url, params)
    return response


@api.post("/api/contexts/<context_id>/lineitems")
def create_lineitem(context_id: str) -> Response:
    client_id = _require_scope(SCOPE_LINEITEM)
    _check_context(context_id)
    devlms = get_devlms()
    item = validate_lineitem(_body())
    link_id = item.get("resourceLinkId")
    if link_id is not None and link_id not in devlms.store.links:
        raise ServiceError(f"resourceLinkId {link_id!r} is not a link in this course")
    tool = devlms.tool(client_id)
    if tool is not None:
        check_review_url(tool, item)
    item_id = devlms.store.create_lineitem(item, owner=client_id)
    response = _json(_lineitem_json(item_id, item), 201, MT_LINEITEM)
    response.headers["Location"] = get_devlms().config.lineitem_url(item_id)
    return response


@api.get("/api/contexts/<context_id>/lineitems/<item_id>")
def get_lineitem(context_id: str, item_id: str) -> Response:
    _require_scope(SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY)
    _check_context(context_id)
    item = get_devlms().store.get_lineitem(item_id)
    return _json(_lineitem_json(item_id, item), media_type=MT_LINEITEM)


@api.put("/api/contexts/<context_id>/lineitems/<item_id>")
def update_lineitem(context_id: str, item_id: str) -> Response:
    _require_scope(SCOPE_LINEITEM)
    _check_context(context_id)
    store = get_devlms().store
    existing = store.get_lineitem(item_id)
    item = validate_lineitem(_body())
    if "resourceLinkId" not in item and "resourceLinkId" in existing:
        item["resourceLinkId"] = existing["resourceLinkId"]
    tool = get_devlms().tool_for_lineitem(item_id)
    if tool is not None:
        check_review_url(tool, item)
    store.update_lineitem(item_id, item)
    return _json(_lineitem_json(item_id, item), media_type=MT_LINEITEM)


@api.delete("/api/contexts/<context_id>/lineitems/<item_id>")
def delete_lineitem(context_id: str, item_id: str) -> Response:
    _require_scope(SCOPE_LINEITEM)
    _check_context(context_id)
    get_devlms().store.delete_lineitem(item_id)
    return Response(status=204)


@api.post("/api/contexts/<context_id>/lineitems/<item_id>/scores")
def post_score(context_id: str, item_id: str) -> Response:
    _require_scope(SCOPE_SCORE)
    _check_context(context_id)
    store = get_devlms().store
    store.get_lineitem(item_id)
    score = validate_score(_body())
    stored = store.put_score(item_id, score)
    response = Response(status=204)
    # An older timestamp than the stored score is ignored (AGS 2.0 §3.4).
    response.headers["X-Devlms-Score"] = (
        "stored" if stored else "ignored-older-timestamp"
    )
    return response


def _result_json(
    item_id: str, item: dict[str, Any], score: dict[str, Any]
) -> dict[str, Any]:
    url = get_devlms().config.lineitem_url(item_id)
    result: dict[str, Any] = {
        "id": f"{url}/results/{score['userId']}",
        "scoreOf": url,
        "userId": score["userId"],
    }
    if "scoreGiven" in score:
        result["resultScore"] = score["scoreGiven"]
        result["resultMaximum"] = score.get("scoreMaximum", item["scoreMaximum"])
    if "comment" in score:
        result["comment"] = score["comment"]
    return result


@api.get("/api/contexts/<context_id>/lineitems/<item_id>/results")
def get_results(context_id: str, item_id: str) -> Response:
    _require_scope(SCOPE_RESULT_READONLY)
    _check_context(context_id)
    store = get_devlms().store
    item = store.get_lineitem(item_id)
    args = _query_args()
    limit, page = parse_paging(args)
    user_filter = args.get("user_id")
    results = [
        _result_json(item_id, item, score)
        for user_id, score in sorted(store.scores_for(item_id).items())
        if user_filter is None or user_id == user_filter
    ]
    chunk, has_next = paginate(results, limit, page)
    response = _json(chunk, media_type=MT_RESULTS)
    if has_next:
        params = {"user_id": user_filter} if user_filter else {}
        params.update({"limit": str(limit), "page": str(page + 1)})
        url = f"{get_devlms().config.lineitem_url(item_id)}/results"
        response.headers["Link"] = _next_link(url, params)
    return response


# -- NRPS 2.0 -------------------------------------------------------------------
@api.get("/api/contexts/<context_id>/memberships")
def memberships(context_id: str) -> Response:
    _require_scope(SCOPE_NRPS)
    _check_context(context_id)
    devlms = get_devlms()
    args = _query_args()
    limit, page = parse_paging(args)
    rlid = args.get("rlid")
    if rlid is not None and rlid not in devlms.store.links:
        raise ServiceError(f"unknown resource link {rlid}", 404)
    role = args.get("role")
    members = [
        {
            "status": "Active",
            "user_id": user.sub,
            "roles": list(user.roles),
            "name": user.name,
            "given_name": user.given_name,
            "family_name": user.family_name,
            "email": user.email,
        }
        for user in USERS.values()
        if role is None or role_matches(user.roles, role)
    ]
    chunk, has_next = paginate(members, limit, page)
    body = {
        "id": devlms.config.memberships_url,
        "context": {"id": COURSE_ID, "label": COURSE_LABEL, "title": COURSE_TITLE},
        "members": chunk,
    }
    response = _json(body, media_type=MT_MEMBERSHIPS)
    if has_next:
        params = {k: v for k, v in args.items() if k in ("role", "rlid")}
        params.update({"limit": str(limit), "page": str(page + 1)})
        response.headers["Link"] = _next_link(devlms.config.memberships_url, params)
    return response


# -- state for tests ----------------------------------------------------------------
@api.get("/api/state")
def state() -> Response:
    devlms = get_devlms()
    store = devlms.store
    lineitems = []
    for item_id, item in store.list_lineitems():
        entry = _lineitem_json(item_id, item)
        entry["scores"] = list(store.scores_for(item_id).values())
        lineitems.append(entry)
    links = [
        {**asdict(link), "url": devlms.link_url(link)} for link in store.links.values()
    ]
    return jsonify(
        {
            "registration": devlms.config.registration(),
            "tools": [tool.summary() for tool in devlms.tools()],
            "platform_storage": devlms.config.platform_storage,
            "links": links,
            "lineitems": lineitems,
            "token_requests": store.token_requests,
            "tokens_issued": store.tokens_issued,
            "ignored_scores": store.ignored_scores,
            "tool_jwks_fetches": devlms.tool_jwks.fetches,
        }
    )
