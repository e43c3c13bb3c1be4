"""LTI 1.3 endpoints: OIDC login, launch, tool JWKS, Deep Linking, registration."""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem

from lti_tool.domain.roles import ToolRole
from lti_tool.errors import Refused
from lti_tool.lti.advantage import Advantage
from lti_tool.lti.launch import DEEP_LINKING, LaunchPolicy, validate_launch
from lti_tool.lti.login import LOGIN_PARAMS, start_login
from lti_tool.lti.origin import local_path, origin_of
from lti_tool.lti.registration import CLOSE_SUBJECT, register_tool
from lti_tool.runtime import db, runtime
from lti_tool.services import keys as key_service
from lti_tool.services.launches import find_session, record_launch
from lti_tool.services.placements import Placement, placements
from lti_tool.services.programs import offered_versions
from lti_tool.web.auth import (
    SESSION_COOKIE,
    STATE_COOKIE_PREFIX,
    current_launch,
    current_session,
    delete_tool_cookie,
    requires_role,
    set_tool_cookie,
)
from lti_tool.web.errors import render_refusal
from lti_tool.web.origin import tool_origin
from lti_tool.web.tokens import token_cache, tool_key

log = logging.getLogger(__name__)

bp = Blueprint("lti", __name__)


def state_cookie_name(state: str) -> str:
    """Name of the cookie that binds one login's state to the browser."""
    return STATE_COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:16]


def _login_params() -> dict[str, str]:
    names = (*LOGIN_PARAMS, "lti_storage_target")
    return {k: str(request.values.get(k, "")) for k in names}


@bp.route("/lti/login", methods=["GET", "POST"])
def login() -> Response:
    """Start the OIDC flow: record state and nonce, send the browser to the LMS."""
    rt = runtime()
    params = _login_params()
    session = db()
    started = start_login(
        session,
        params,
        origin=tool_origin(),
        login_ttl=rt.settings.lti_login_ttl,
        now=rt.clock(),
    )
    session.commit()
    in_frame = request.headers.get("Sec-Fetch-Dest") == "iframe"
    if started.storage_target and not request.values.get("new_window"):
        # LTI Platform Storage: the LMS keeps our state in its storage frame,
        # so the launch can be trusted even if this frame loses cookies.
        response = make_response(
            render_template(
                "lti/storage_login.html",
                auth_url=started.auth_url,
                state=started.state,
                target=started.storage_target,
                platform_origin=started.platform_origin,
            )
        )
    elif in_frame and not request.values.get("new_window"):
        # In an LMS iframe, first check that this browser keeps our cookies; if
        # it does not, offer to continue in a new (first-party) window.
        new_window_url = url_for("lti.login", **params, new_window="1", _external=False)
        response = make_response(
            render_template(
                "lti/cookie_check.html",
                auth_url=started.auth_url,
                new_window_url=new_window_url,
            )
        )
    else:
        response = make_response(redirect(started.auth_url, code=302))
    set_tool_cookie(
        response,
        state_cookie_name(started.state),
        started.state,
        rt.settings.lti_login_ttl,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/lti/launch")
def launch() -> Response:
    """Validate the launch, bind it to a server-side session, go to the target page."""
    rt = runtime()
    session = db()
    now = rt.clock()
    state = request.form.get("state")
    try:
        validated = validate_launch(
            session,
            id_token=request.form.get("id_token"),
            state=state,
            state_cookie=request.cookies.get(state_cookie_name(state))
            if state
            else None,
            keys=rt.keysets,
            policy=LaunchPolicy(
                origin=tool_origin(),
                clock_leeway=rt.settings.lti_clock_leeway,
                max_launch_age=rt.settings.lti_max_launch_age,
            ),
            now=now,
        )
    except Refused as refused:
        session.rollback()
        if refused.code == "state_cookie_missing" and state:
            refused.new_window_url = _restart_url(state)
        raise
    recorded = record_launch(
        session,
        claims=validated.claims,
        platform=validated.platform,
        deployment=validated.deployment,
        session_token=request.cookies.get(SESSION_COOKIE),
        ttl=rt.settings.lti_launch_ttl,
        now=now,
    )
    session.commit()
    stored = recorded.launch
    log.info(
        "launch accepted platform=%s user=%s role=%s type=%s",
        validated.platform.issuer,
        stored.user_id,
        stored.role,
        stored.message_type,
    )
    if stored.message_type == DEEP_LINKING:
        destination = url_for("lti.deep_link", launch=stored.id)
    else:
        path = local_path(validated.target_link_uri)
        joiner = "&" if "?" in path else "?"
        destination = f"{path}{joiner}{urlencode({'launch': stored.id})}"
    if validated.needs_storage_check:
        # Hand the session over only after the page has found this login's
        # state in the LMS's storage frame (this browser started the login).
        page = make_response(
            render_template(
                "lti/storage_launch.html",
                state=validated.login.state,
                target=validated.login.storage_target,
                platform_origin=origin_of(validated.platform.auth_login_url) or "",
                session_token=recorded.new_session_token or "",
                destination=destination,
                new_window_url=_restart_url(validated.login.state),
            )
        )
        page.headers["Cache-Control"] = "no-store"
        return page
    response = make_response(redirect(destination, code=303))
    if recorded.new_session_token:
        set_tool_cookie(
            response,
            SESSION_COOKIE,
            recorded.new_session_token,
            rt.settings.lti_launch_ttl,
        )
    if state:
        delete_tool_cookie(response, state_cookie_name(state))
    return response


@bp.post("/lti/launch/continue")
def launch_continue() -> Response:
    """Second step of a Platform Storage launch: take the session, open the page.

    The form comes from the page /lti/launch rendered into this browser after
    the storage frame confirmed the login; the session token in it was only
    ever sent to that page.
    """
    rt = runtime()
    # Only our own page may post this (else anyone could plant their session
    # in someone else's browser): the browser says where the form came from.
    same_site = request.headers.get("Sec-Fetch-Site") == "same-origin"
    same_origin = request.headers.get("Origin") == tool_origin()
    if not (same_site or same_origin):
        raise Refused(
            403,
            "cross_site_continue",
            "This sign-in step must come from tierpath's own page.",
            hint="Open tierpath from your LMS again.",
            detail=f"origin={request.headers.get('Origin')!r}"
            f" sec-fetch-site={request.headers.get('Sec-Fetch-Site')!r}",
        )
    token = request.form.get("session_token", "")
    destination = request.form.get("destination", "")
    if not destination.startswith("/") or destination.startswith("//"):
        raise Refused(400, "bad_destination", "This sign-in link is not valid.")
    response = make_response(redirect(destination, code=303))
    if token:
        if find_session(db(), token, rt.clock()) is None:
            raise Refused(
                401,
                "no_session",
                "This sign-in has expired.",
                hint="Open tierpath from your LMS again.",
            )
        set_tool_cookie(response, SESSION_COOKIE, token, rt.settings.lti_launch_ttl)
    return response


def _restart_url(state: str) -> str | None:
    """A login URL that restarts this sign-in in a new window (cookie fallback)."""
    from lti_tool.db.models import LoginState

    login = db().get(LoginState, state)
    if login is None:
        return None
    params: dict[str, Any] = {**login.login_params, "new_window": "1"}
    return url_for("lti.login", **params)


def _registration_page(response: Response) -> Response:
    """Headers of the registration page, which an LMS not yet registered frames."""
    nonce = g.get("csp_nonce", "")
    # Any LMS may frame it: it is opened before tierpath knows the LMS, and it
    # acts on load, so framing adds nothing an attacker could click.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors *; base-uri 'none'; object-src 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    # The page's URL carries the one-time registration token.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/lti/register")
def register() -> Response:
    """LTI Dynamic Registration: register with the LMS, then wait for approval."""
    rt = runtime()
    session = db()
    try:
        platform = register_tool(
            session,
            rt.registration_http,
            openid_configuration=request.args.get("openid_configuration"),
            registration_token=request.args.get("registration_token"),
            origin=tool_origin(),
            max_pending=rt.settings.registration.max_pending,
            now=rt.clock(),
        )
        session.commit()
    except Refused as refused:
        session.rollback()
        body, status = render_refusal(refused)
        return _registration_page(make_response(body, status))
    except sa.exc.IntegrityError as exc:  # a twin registration committed first
        session.rollback()
        twin = Refused(
            409,
            "already_registered",
            "This LMS registration is already stored in tierpath; nothing new was"
            " stored.",
            detail=str(exc.orig)[:300],
        )
        body, status = render_refusal(twin)
        return _registration_page(make_response(body, status))
    log.info(
        "dynamic registration pending approval platform_id=%s iss=%s client_id=%s",
        platform.id,
        platform.issuer,
        platform.client_id,
    )
    return _registration_page(
        make_response(
            render_template(
                "lti/registered.html",
                platform=platform,
                close_subject=CLOSE_SUBJECT,
            )
        )
    )


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """Publish the tool's current and next public keys."""
    rt = runtime()
    session = db()
    if key_service.ensure_keys(session, rt.encryptor, rt.clock()):
        session.commit()  # first run: the tool's key pair is generated here
    response = jsonify(key_service.published_jwks(session, rt.clock()))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _deep_link_launch() -> None:
    if current_launch().message_type != DEEP_LINKING:
        raise Refused(
            400,
            "not_deep_linking",
            "This page is only for adding tierpath content from your LMS.",
        )


def _placements() -> list[Placement]:
    launch = current_launch()
    return placements(offered_versions(db(), launch.context_id))


@bp.get("/lti/deep-link")
@requires_role(ToolRole.INSTRUCTOR, ToolRole.ADMINISTRATOR)
def deep_link() -> str:
    """Show what an instructor can place in the course."""
    _deep_link_launch()
    return render_template(
        "lti/deep_link.html",
        launch=current_launch(),
        items=_placements(),
        csrf_token=current_session().csrf_token,
    )


@bp.post("/lti/deep-link")
@requires_role(ToolRole.INSTRUCTOR, ToolRole.ADMINISTRATOR)
def deep_link_return() -> str:
    """Sign the chosen items into an LtiDeepLinkingResponse and post it to the LMS."""
    _deep_link_launch()
    rt = runtime()
    chosen = request.form.getlist("item")
    by_key = {p.key: p for p in _placements()}
    unknown = [c for c in chosen if c not in by_key]
    if not chosen or unknown:
        raise Refused(
            400, "nothing_chosen", "Choose at least one item to add to the course."
        )
    origin = tool_origin()
    graded_wanted = request.form.get("graded") == "1"
    resources = []
    for key in chosen:
        item = by_key[key]
        custom = {"tierpath_item": key}
        if item.program_id:
            custom["program"] = item.program_id
        resource = (
            DeepLinkResource()
            .set_url(origin + item.path)
            .set_title(item.title)
            .set_custom_params(custom)
        )
        if item.column is not None and graded_wanted:
            line_item = (
                LineItem()
                .set_tag(item.column.tag)
                .set_score_maximum(item.column.score_maximum)
                .set_label(item.column.label)
                .set_resource_id(item.column.resource_id)
            )
            if item.kind == "rotation":
                line_item.set_submission_review(
                    reviewable_status=["Submitted", "Completed"],
                    label="Open the evidence in tierpath",
                    url=origin + "/grading/review",
                )
            resource.set_lineitem(line_item)
        resources.append(resource)
    advantage = Advantage(
        current_launch(),
        tool_key(),
        rt.http,
        token_cache(),
    )
    token, return_url = advantage.deep_link_response(resources)
    return render_template(
        "lti/deep_link_return.html", jwt=token, return_url=return_url
    )
