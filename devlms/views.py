"""Browser-facing routes: course pages, OIDC launch, /auth and deep-link return.

The OIDC flow is stricter than lti1p3platform: ``/auth`` checks every
authorization parameter against the tool the ``client_id`` names (exact
``redirect_uri`` from its registered list), binds ``lti_message_hint`` to
``login_hint`` and to that tool, and accepts each nonce once;
``/deep_link_return`` checks signature, ``iss``, ``aud``, ``deployment_id``,
timestamps, a single-use nonce and the ``data`` value that ties the response
to the request devlms issued.

Framed launches (course link, deep linking, submission review) may offer LTI
Platform Storage (see :mod:`devlms.storage`); direct ``/launch…`` URLs are
top-level launches and offer it only when asked with ``?storage=…``.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt
from flask import (
    Blueprint,
    Response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from lti1p3platform.exceptions import (
    LtiDeepLinkingResponseException,
    PreflightRequestValidationException,
)
from werkzeug.wrappers import Response as BaseResponse

from .platform import DevLmsMessageLaunch, JwtValidationError
from .services import (
    COURSE_ID,
    COURSE_LABEL,
    COURSE_TITLE,
    COURSE_TYPE,
    LAUNCHING_USERS,
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_NRPS,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
    USERS,
    USERS_BY_SUB,
    MessageHint,
    ResourceLink,
    ServiceError,
    User,
    check_review_url,
    is_reviewable,
    validate_lineitem,
)
from .state import DevLms, get_devlms
from .storage import (
    STORAGE_FRAME_NAME,
    STORAGE_MODES,
    parse_storage_mode,
    storage_target,
)
from .tools import (
    DEEP_LINKING_REQUEST,
    RESOURCE_LINK_REQUEST,
    SUBMISSION_REVIEW_REQUEST,
    ToolRegistration,
    add_query,
)

views = Blueprint("devlms_views", __name__)

LTI = "https://purl.imsglobal.org/spec/lti/claim"
LTI_DL = "https://purl.imsglobal.org/spec/lti-dl/claim"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
AGS_SCOPES = (
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
)


def _plain(message: str, status: int = 400) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def current_user() -> User | None:
    """The demo user chosen on the course page (None if none)."""
    user_id = session.get("user")
    user = USERS.get(user_id) if isinstance(user_id, str) else None
    return user if user is not None and user.launches else None


def _launch_user() -> User | None:
    user_id = request.args.get("user") or session.get("user")
    user = USERS.get(user_id) if isinstance(user_id, str) else None
    return user if user is not None and user.launches else None


# -- platform storage ------------------------------------------------------------
def _session_storage_mode() -> str:
    """Mode for framed launches: session toggle, else the configured default."""
    mode = parse_storage_mode(session.get("platform_storage"))
    return mode or get_devlms().config.platform_storage


def _requested_storage_mode() -> str | None:
    """The ``?storage=`` query parameter, normalised (None if absent)."""
    raw = request.args.get("storage")
    if raw is None:
        return None
    mode = parse_storage_mode(raw)
    if mode is None:
        raise ServiceError(f"storage must be one of {', '.join(STORAGE_MODES)}")
    return mode


def _framed_storage_mode() -> str:
    """``?storage=`` of a course page, else the session/config mode."""
    return _requested_storage_mode() or _session_storage_mode()


def _launch_storage_target() -> str | None:
    """``lti_storage_target`` for a ``/launch…`` request (only if asked for).

    A launch URL opened on its own is a top-level window: nobody would answer
    the tool's postMessages, so storage is offered only when the framing page
    asks for it.
    """
    return storage_target(_requested_storage_mode())


def _storage_config(tool: ToolRegistration, role: str, mode: str) -> dict[str, Any]:
    """What the postMessage handler of a devlms page needs to know."""
    return {
        "role": role,
        "mode": mode,
        "target": storage_target(mode),
        "frame": STORAGE_FRAME_NAME if mode == "frame" else None,
        "tool_origins": tool.origins,
        "client_id": tool.client_id,
    }


def _render_frame(
    *,
    heading: str,
    tool: ToolRegistration,
    endpoint: str,
    user: User,
    mode: str,
    params: dict[str, str],
) -> str:
    """A devlms page that frames one launch (and answers storage messages)."""
    query: dict[str, Any] = {"user": user.id, **params}
    # opened in a new window (rel=noopener) nobody answers postMessages
    new_window_src = url_for(endpoint, **query)
    if mode != "off":
        query["storage"] = mode
    src = url_for(endpoint, **query)
    storage = _storage_config(tool, "parent", mode) if mode != "off" else None
    storage_frame_src = (
        url_for("devlms_views.storage_frame", tool=tool.client_id)
        if mode == "frame"
        else None
    )
    return render_template(
        "frame.html",
        title=heading,
        heading=heading,
        user=user,
        src=src,
        new_window_src=new_window_src,
        storage=storage,
        storage_mode=mode,
        storage_frame_name=STORAGE_FRAME_NAME,
        storage_frame_src=storage_frame_src,
    )


# -- pages -----------------------------------------------------------------------
def _render_course(message: str | None = None, *, in_frame: bool = False) -> str:
    devlms = get_devlms()
    tools = devlms.tools()
    return render_template(
        "course.html",
        title=COURSE_TITLE,
        course_title=COURSE_TITLE,
        course_label=COURSE_LABEL,
        users=LAUNCHING_USERS,
        user=current_user(),
        links=list(devlms.store.links.values()),
        link_tools={t.client_id: t for t in tools},
        default_client_id=devlms.config.client_id,
        deep_link_tools=[t for t in tools if t.deep_link_uri],
        message=message,
        in_frame=in_frame,
        tool_url=devlms.config.tool,
        storage_mode=_session_storage_mode(),
        storage_modes=STORAGE_MODES,
    )


@views.get("/")
def course_home() -> str:
    return _render_course(request.args.get("message"))


@views.post("/switch-user")
def switch_user() -> BaseResponse:
    user_id = request.form.get("user", "")
    if user_id not in USERS or not USERS[user_id].launches:
        return _plain(f"unknown user {user_id!r}")
    session["user"] = user_id
    return redirect(url_for("devlms_views.course_home"))


@views.post("/settings/platform-storage")
def set_platform_storage() -> BaseResponse:
    """Course-page toggle: the Platform Storage mode of this browser session."""
    mode = parse_storage_mode(request.form.get("mode"))
    if mode is None:
        return _plain(f"mode must be one of {', '.join(STORAGE_MODES)}")
    session["platform_storage"] = mode
    return redirect(url_for("devlms_views.course_home"))


@views.get("/course/launch/<resource_link_id>")
def course_launch(resource_link_id: str) -> Response | str:
    devlms = get_devlms()
    user = current_user()
    link = devlms.store.links.get(resource_link_id)
    if link is None:
        return _plain(f"unknown resource link {resource_link_id!r}", 404)
    tool = devlms.tool_for_link(link)
    if tool is None:
        return _plain("the tool of this link is no longer registered", 404)
    if user is None:
        return _plain("choose a user on the course page first")
    try:
        mode = _framed_storage_mode()
    except ServiceError as exc:
        return _plain(exc.message, exc.status)
    return _render_frame(
        heading=link.title,
        tool=tool,
        endpoint="devlms_views.launch",
        user=user,
        mode=mode,
        params={"resource_link_id": link.id},
    )


@views.get("/course/deep-link")
def course_deep_link() -> Response | str:
    devlms = get_devlms()
    user = current_user()
    if user is None or not user.is_instructor:
        return _plain("only instructors can add content", 403)
    tool = devlms.tool(request.args.get("tool") or devlms.config.client_id)
    if tool is None or not tool.deep_link_uri:
        return _plain("unknown tool, or the tool does not offer deep linking", 404)
    try:
        mode = _framed_storage_mode()
    except ServiceError as exc:
        return _plain(exc.message, exc.status)
    params = {} if not tool.dynamic else {"tool": tool.client_id}
    heading = f"Add content from {tool.name} (Deep Linking)"
    return _render_frame(
        heading=heading,
        tool=tool,
        endpoint="devlms_views.launch_deep_link",
        user=user,
        mode=mode,
        params=params,
    )


@views.get("/lti/storage-frame")
def storage_frame() -> Response | str:
    """The hidden ``devlms_storage`` frame of the ``frame`` storage mode."""
    tool = get_devlms().tool(request.args.get("tool"))
    if tool is None:
        return _plain("unknown tool", 404)
    return render_template(
        "storage_frame.html",
        storage=_storage_config(tool, "frame", "frame"),
    )


def _gradebook_rows(
    devlms: DevLms, item_id: str, item: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every learner of the course plus anyone else with a score."""
    scores = devlms.store.scores_for(item_id)
    members = [u for u in USERS.values() if u.is_learner]
    members += [
        USERS_BY_SUB[sub]
        for sub in scores
        if sub in USERS_BY_SUB and USERS_BY_SUB[sub] not in members
    ]
    review = item.get("submissionReview")
    rows = []
    for member in members:
        score = scores.get(member.sub)
        rows.append(
            {
                "member": member,
                "score": score,
                "reviewable": review is not None and is_reviewable(review, score),
            }
        )
    return rows


@views.get("/gradebook")
def gradebook() -> str:
    devlms = get_devlms()
    columns = []
    for item_id, item in devlms.store.list_lineitems():
        tool = devlms.tool_for_lineitem(item_id)
        review = item.get("submissionReview")
        columns.append(
            {
                "id": item_id,
                "item": item,
                "tool": tool,
                "review": review,
                "review_supported": review is not None
                and tool is not None
                and tool.supports(SUBMISSION_REVIEW_REQUEST),
                "rows": _gradebook_rows(devlms, item_id, item),
            }
        )
    return render_template(
        "gradebook.html", title="Gradebook", columns=columns, user=current_user()
    )


@views.get("/gradebook/review/<item_id>/<user_id>")
def gradebook_review(item_id: str, user_id: str) -> Response | str:
    """Frame page of a Submission Review launch (instructors only)."""
    devlms = get_devlms()
    user = current_user()
    if user is None or not user.is_instructor:
        return _plain("only instructors can review submissions", 403)
    try:
        tool, _review, learner = _review_target(devlms, item_id, user_id)
        mode = _framed_storage_mode()
    except ServiceError as exc:
        return _plain(exc.message, exc.status)
    item = devlms.store.get_lineitem(item_id)
    return _render_frame(
        heading=f"Review: {item['label']} — {learner.name}",
        tool=tool,
        endpoint="devlms_views.launch_submission_review",
        user=user,
        mode=mode,
        params={"item_id": item_id, "for_user": learner.id},
    )


@views.get("/roster")
def roster() -> str:
    return render_template(
        "roster.html",
        title="Roster",
        members=list(USERS.values()),
        user=current_user(),
    )


# -- OIDC third-party login initiation ---------------------------------------------
def _login_redirect(
    devlms: DevLms, tool: ToolRegistration, user: User, hint: MessageHint, target: str
) -> BaseResponse:
    params = {
        "iss": devlms.config.issuer_url,
        "login_hint": user.id,
        "target_link_uri": target,
        "lti_message_hint": devlms.store.new_hint(hint),
        "client_id": tool.client_id,
        "lti_deployment_id": tool.deployment_id,
    }
    if hint.storage_target:
        params["lti_storage_target"] = hint.storage_target
    return redirect(add_query(tool.initiate_login_uri, params), code=302)


@views.get("/launch/<resource_link_id>")
def launch(resource_link_id: str) -> BaseResponse:
    devlms = get_devlms()
    link = devlms.store.links.get(resource_link_id)
    if link is None:
        return _plain(f"unknown resource link {resource_link_id!r}", 404)
    tool = devlms.tool_for_link(link)
    if tool is None:
        return _plain("the tool of this link is no longer registered", 404)
    user = _launch_user()
    if user is None:
        return _plain(
            "unknown or missing user (use ?user=learner1|learner2|instructor|admin)"
        )
    try:
        target = _launch_storage_target()
    except ServiceError as exc:
        return _plain(exc.message, exc.status)
    hint = MessageHint(
        user.id, RESOURCE_LINK_REQUEST, link.id, time.time(), tool.client_id, target
    )
    return _login_redirect(devlms, tool, user, hint, devlms.link_url(link))


@views.get("/launch-deep-link")
def launch_deep_link() -> BaseResponse:
    devlms = get_devlms()
    user = _launch_user()
    if user is None:
        return _plain("unknown or missing user")
    if not user.is_instructor:
        return _plain("only instructors can start a deep-linking request", 403)
    tool = devlms.tool(request.args.get("tool") or devlms.config.client_id)
    if tool is None or not tool.deep_link_uri:
        return _plain("unknown tool, or the tool does not offer deep linking", 404)
    try:
        target = _launch_storage_target()
    except ServiceError as exc:
        return _plain(exc.message, exc.status)
    hint = MessageHint(
        user.id, DEEP_LINKING_REQUEST, None, time.time(), tool.client_id, target
    )
    return _login_redirect(devlms, tool, user, hint, tool.deep_link_uri)


def _review_target(
    devlms: DevLms, item_id: str, learner_id: str
) -> tuple[ToolRegistration, dict[str, Any], User]:
    """Check that ``learner_id``'s submission on ``item_id`` can be reviewed now."""
    item = devlms.store.get_lineitem(item_id)
    review = item.get("submissionReview")
    if review is None:
        raise ServiceError("this line item offers no submission review")
    tool = devlms.tool_for_lineitem(item_id)
    if tool is None or not tool.supports(SUBMISSION_REVIEW_REQUEST):
        raise ServiceError(
            "the tool of this line item does not offer submission review"
        )
    learner = USERS.get(learner_id)
    if learner is None:
        raise ServiceError(f"unknown user {learner_id!r}", 404)
    score = devlms.store.scores_for(item_id).get(learner.sub)
    if not is_reviewable(review, score):
        raise ServiceError(
            "this submission is not reviewable in its current status"
            f" (reviewableStatus {review.get('reviewableStatus')})"
        )
    return tool, review, learner


def _review_target_link(tool: ToolRegistration, review: dict[str, Any]) -> str:
    url = review.get("url")
    return str(url) if url else tool.submission_review_uri or tool.target_link_uri


@views.get("/launch-submission-review/<item_id>")
def launch_submission_review(item_id: str) -> BaseResponse:
    """Start an ``LtiSubmissionReviewRequest`` (``?user=<instructor>&for_user=``)."""
    devlms = get_devlms()
    user = _launch_user()
    if user is None:
        return _plain("unknown or missing user")
    if not user.is_instructor:
        return _plain("only instructors can review submissions", 403)
    try:
        tool, review, learner = _review_target(
            devlms, item_id, request.args.get("for_user", "")
        )
        target = _launch_storage_target()
    except ServiceError as exc:
        return _plain(exc.message, exc.status)
    item = devlms.store.get_lineitem(item_id)
    link_id = item.get("resourceLinkId")
    hint = MessageHint(
        user.id,
        SUBMISSION_REVIEW_REQUEST,
        link_id if link_id in devlms.store.links else None,
        time.time(),
        tool.client_id,
        target,
        lineitem_id=item_id,
        for_user=learner.id,
    )
    return _login_redirect(devlms, tool, user, hint, _review_target_link(tool, review))


# -- authorization endpoint ------------------------------------------------------
def _check_auth_request(
    devlms: DevLms, params: dict[str, str]
) -> tuple[User, MessageHint, ToolRegistration]:
    if "openid" not in params.get("scope", "").split():
        raise ServiceError("scope must be openid")
    if params.get("response_type") != "id_token":
        raise ServiceError("response_type must be id_token")
    if params.get("response_mode") != "form_post":
        raise ServiceError("response_mode must be form_post")
    if params.get("prompt") != "none":
        raise ServiceError("prompt must be none")
    tool = devlms.tool(params.get("client_id"))
    if tool is None:
        raise ServiceError("unknown client_id")
    if params.get("redirect_uri") not in tool.redirect_uris:
        raise ServiceError("redirect_uri is not the registered launch URL")
    user = USERS.get(params.get("login_hint", ""))
    if user is None or not user.launches:
        raise ServiceError("unknown login_hint")
    hint = devlms.store.get_hint(params.get("lti_message_hint", ""))
    if hint is None:
        raise ServiceError("invalid or expired lti_message_hint")
    if hint.user_id != user.id:
        raise ServiceError("lti_message_hint was issued for another user")
    if hint.client_id != tool.client_id:
        raise ServiceError("lti_message_hint was issued for another client_id")
    if not params.get("state"):
        raise ServiceError("state is required")
    nonce = params.get("nonce", "")
    if not nonce:
        raise ServiceError("nonce is required")
    if not devlms.store.consume_once("auth-nonce", nonce):
        raise ServiceError("nonce was already used")
    return user, hint, tool


def _ags_claim(
    tool: ToolRegistration, lineitems_url: str, lineitem_url: str | None
) -> dict[str, Any] | None:
    scopes = [s for s in AGS_SCOPES if s in tool.scopes]
    if SCOPE_LINEITEM in scopes and SCOPE_LINEITEM_READONLY in scopes:
        scopes.remove(SCOPE_LINEITEM_READONLY)  # implied by lineitem
    if not scopes and lineitem_url is None:
        return None
    claim: dict[str, Any] = {"scope": scopes, "lineitems": lineitems_url}
    if lineitem_url is not None:
        claim["lineitem"] = lineitem_url
    return claim


def _identity(tool: ToolRegistration, user: User) -> dict[str, str]:
    """The optional identity claims the tool asked for."""
    values = {
        "name": user.name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "email": user.email,
    }
    return {k: v for k, v in values.items() if tool.wants_claim(k)}


@views.route("/auth", methods=["GET", "POST"])
def auth() -> Response | str:
    devlms = get_devlms()
    cfg = devlms.config
    params = dict(request.values.items())
    try:
        user, hint, tool = _check_auth_request(devlms, params)
    except ServiceError as exc:
        return _plain(exc.message, exc.status)

    link: ResourceLink | None = None
    review: dict[str, Any] = {}
    lineitem_url: str | None = None
    if hint.message_type == DEEP_LINKING_REQUEST:
        target = tool.deep_link_uri or tool.target_link_uri
    elif hint.message_type == SUBMISSION_REVIEW_REQUEST:
        try:
            item = devlms.store.get_lineitem(hint.lineitem_id or "")
        except ServiceError:
            return _plain("the line item of this review no longer exists")
        review = item.get("submissionReview") or {}
        target = _review_target_link(tool, review)
        link = devlms.store.links.get(hint.resource_link_id or "")
        lineitem_url = cfg.lineitem_url(hint.lineitem_id or "")
    else:
        link = devlms.store.links.get(hint.resource_link_id or "")
        if link is None:
            return _plain("the resource link of this launch no longer exists")
        target = devlms.link_url(link)
        items = devlms.store.list_lineitems(resource_link_id=link.id)
        if len(items) == 1:
            lineitem_url = cfg.lineitem_url(items[0][0])

    conf = devlms.platform_conf(tool, audience=cfg.issuer_url, target_link_uri=target)
    message = DevLmsMessageLaunch(
        params,
        conf,
        lambda data: render_template(
            "autopost.html", **data, storage_target=hint.storage_target
        ),
    )
    identity = _identity(tool, user)
    message.set_user_data(
        user.sub,
        list(user.roles),
        full_name=identity.get("name"),
        email_address=identity.get("email"),
    )
    message.set_launch_context_claim(
        COURSE_ID, [COURSE_TYPE], COURSE_TITLE, COURSE_LABEL
    )
    message.set_launch_presentation_claim("iframe", return_url=f"{cfg.base}/")
    custom = {**tool.custom, **(link.custom if link else {})}
    custom.update(review.get("custom") or {})
    message.set_custom_parameters_claim(custom)
    if link is not None:
        message.set_resource_link_claim(link.id, title=link.title)
    extra: dict[str, Any] = {
        k: v for k, v in identity.items() if k in ("given_name", "family_name")
    }
    extra[f"{LTI}/tool_platform"] = {
        "guid": f"devlms-{cfg.client_id}",
        "name": "tierpath devlms",
        "product_family_code": "devlms",
        "version": "0.1",
    }
    ags = _ags_claim(tool, cfg.lineitems_url, lineitem_url)
    if ags is not None:
        extra[AGS_CLAIM] = ags
    message.set_extra_claims(extra)
    if SCOPE_NRPS in tool.scopes:
        message.set_nrps(cfg.memberships_url)
    if hint.message_type == SUBMISSION_REVIEW_REQUEST:
        learner = USERS[hint.for_user or ""]
        message.set_extra_claims(
            {
                f"{LTI}/message_type": SUBMISSION_REVIEW_REQUEST,
                f"{LTI}/for_user": {
                    "user_id": learner.sub,
                    **_identity(tool, learner),
                    "roles": list(learner.roles),
                },
            }
        )
    if hint.message_type == DEEP_LINKING_REQUEST:
        message.deep_linking_claim = {
            "deep_link_return_url": cfg.deep_link_return_url,
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": True,
            "auto_create": True,
            "title": f"Add {tool.name} content",
            "data": devlms.store.new_dl_request(
                params["nonce"], user.id, tool.client_id
            ),
        }
    try:
        html: str = message.lti_launch()
    except PreflightRequestValidationException:
        return _plain("authorization request is missing nonce, state or redirect_uri")
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


# -- deep-linking return ---------------------------------------------------------------
def _check_deep_link_claims(
    devlms: DevLms, tool: ToolRegistration, claims: dict[str, Any]
) -> None:
    if claims.get("iss") != tool.client_id:
        raise ServiceError("iss must be the client_id")
    if claims.get(f"{LTI}/deployment_id") != tool.deployment_id:
        raise ServiceError("deployment_id does not match")
    if claims.get(f"{LTI}/version") != "1.3.0":
        raise ServiceError("version must be 1.3.0")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise ServiceError("nonce is required")
    data = claims.get(f"{LTI_DL}/data")
    request_info = devlms.store.pop_dl_request(data) if isinstance(data, str) else None
    if request_info is None or request_info.client_id != tool.client_id:
        raise ServiceError("data does not match a pending deep-linking request")
    if not devlms.store.consume_once("dl-nonce", nonce):
        raise ServiceError("nonce was already used")


def _prepare_item(
    tool: ToolRegistration, item: dict[str, Any]
) -> tuple[ResourceLink, dict[str, Any] | None]:
    """Validate one ``ltiResourceLink`` item; return the link and its line item."""
    url = item.get("url") or tool.target_link_uri
    if not isinstance(url, str) or not tool.is_tool_url(url):
        raise ServiceError("content item url must be on the tool's origin")
    title = item.get("title") or f"Untitled {tool.name} activity"
    custom = item.get("custom") or {}
    if not isinstance(title, str) or not isinstance(custom, dict):
        raise ServiceError("content item title must be a string and custom an object")
    link = ResourceLink(
        id="rl-" + secrets.token_hex(6),
        title=title,
        url=url,
        custom={str(k): str(v) for k, v in custom.items()},
        text=str(item.get("text") or ""),
        tool=tool.client_id if tool.dynamic else "",
    )
    line_item = item.get("lineItem")
    if line_item is None:
        return link, None
    if not isinstance(line_item, dict):
        raise ServiceError("lineItem must be an object")
    label = line_item.get("label") or title
    validated = validate_lineitem(
        {**line_item, "label": label, "resourceLinkId": link.id}
    )
    check_review_url(tool, validated)
    return link, validated


def _deep_link_tool(devlms: DevLms, token: str) -> ToolRegistration:
    """The tool a deep-linking response claims to come from (verified later)."""
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise ServiceError(f"malformed JWT: {exc}") from exc
    iss = unverified.get("iss")
    tool = devlms.tool(iss) if isinstance(iss, str) else None
    if tool is None:
        raise ServiceError("iss must be the client_id of a registered tool")
    return tool


@views.post("/deep_link_return")
def deep_link_return() -> Response | str:
    devlms = get_devlms()
    token = request.form.get("JWT", "")
    if not token:
        return _plain("JWT form field is required")
    try:
        tool = _deep_link_tool(devlms, token)
        conf = devlms.platform_conf(tool, audience=devlms.config.issuer_url)
        conf.set_accepted_deeplinking_types(["ltiResourceLink"])
        items = conf.validate_deeplinking_resp({"JWT": token})
        _check_deep_link_claims(devlms, tool, conf.verified_claims)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ServiceError("content_items must be a list of objects")
        prepared = [_prepare_item(tool, item) for item in items]
    except JwtValidationError as exc:
        return _plain(f"deep-linking response rejected: {exc}")
    except LtiDeepLinkingResponseException as exc:
        return _plain(f"deep-linking response rejected: {exc}")
    except (KeyError, TypeError):
        return _plain("deep-linking response rejected: malformed content_items")
    except ServiceError as exc:
        return _plain(f"deep-linking response rejected: {exc.message}", exc.status)
    placed = []
    for link, line_item in prepared:
        devlms.store.add_link(link)
        if line_item is not None:
            devlms.store.create_lineitem(line_item, owner=tool.client_id)
        placed.append(link)
    if placed:
        message = f"Added from {tool.name}: " + ", ".join(link.title for link in placed)
    else:
        message = f"No content was selected in {tool.name}."
    return _render_course(message, in_frame=True)
