"""Browser-facing routes: course pages, OIDC launch, /auth and deep-link return.

The OIDC flow is stricter than lti1p3platform: ``/auth`` checks every
authorization parameter, binds ``lti_message_hint`` to ``login_hint`` and
accepts each nonce once; ``/deep_link_return`` checks signature, ``iss``,
``aud``, ``deployment_id``, timestamps, a single-use nonce and the ``data``
value that ties the response to the request devlms issued.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlencode

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
    USERS,
    USERS_BY_SUB,
    MessageHint,
    ResourceLink,
    ServiceError,
    User,
    validate_lineitem,
)
from .state import DevLms, get_devlms

views = Blueprint("devlms_views", __name__)

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
LTI = "https://purl.imsglobal.org/spec/lti/claim"
LTI_DL = "https://purl.imsglobal.org/spec/lti-dl/claim"


def _plain(message: str, status: int = 400) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def _current_user() -> User | None:
    user_id = session.get("user")
    user = USERS.get(user_id) if isinstance(user_id, str) else None
    return user if user is not None and user.launches else None


def _launch_user() -> User | None:
    user_id = request.args.get("user") or session.get("user")
    user = USERS.get(user_id) if isinstance(user_id, str) else None
    return user if user is not None and user.launches else None


def _render_course(message: str | None = None, *, in_frame: bool = False) -> str:
    devlms = get_devlms()
    return render_template(
        "course.html",
        title=COURSE_TITLE,
        course_title=COURSE_TITLE,
        course_label=COURSE_LABEL,
        users=LAUNCHING_USERS,
        user=_current_user(),
        links=list(devlms.store.links.values()),
        message=message,
        in_frame=in_frame,
        tool_url=devlms.config.tool,
    )


# -- pages -----------------------------------------------------------------------
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


@views.get("/course/launch/<resource_link_id>")
def course_launch(resource_link_id: str) -> Response | str:
    devlms = get_devlms()
    user = _current_user()
    link = devlms.store.links.get(resource_link_id)
    if link is None:
        return _plain(f"unknown resource link {resource_link_id!r}", 404)
    if user is None:
        return _plain("choose a user on the course page first")
    src = url_for("devlms_views.launch", resource_link_id=link.id, user=user.id)
    return render_template(
        "frame.html", title=link.title, heading=link.title, user=user, src=src
    )


@views.get("/course/deep-link")
def course_deep_link() -> Response | str:
    user = _current_user()
    if user is None or not user.is_instructor:
        return _plain("only instructors can add content", 403)
    src = url_for("devlms_views.launch_deep_link", user=user.id)
    heading = "Add content from tierpath (Deep Linking)"
    return render_template(
        "frame.html", title=heading, heading=heading, user=user, src=src
    )


@views.get("/gradebook")
def gradebook() -> str:
    store = get_devlms().store
    columns = []
    for item_id, item in store.list_lineitems():
        scores = store.scores_for(item_id)
        rows = [
            (USERS_BY_SUB[sub], score)
            for sub, score in scores.items()
            if sub in USERS_BY_SUB
        ]
        columns.append({"id": item_id, "item": item, "rows": rows})
    return render_template(
        "gradebook.html", title="Gradebook", columns=columns, user=_current_user()
    )


@views.get("/roster")
def roster() -> str:
    return render_template(
        "roster.html",
        title="Roster",
        members=list(USERS.values()),
        user=_current_user(),
    )


# -- OIDC third-party login initiation ---------------------------------------------
def _login_redirect(
    devlms: DevLms, user: User, hint: MessageHint, target: str
) -> BaseResponse:
    cfg = devlms.config
    params = {
        "iss": cfg.issuer_url,
        "login_hint": user.id,
        "target_link_uri": target,
        "lti_message_hint": devlms.store.new_hint(hint),
        "client_id": cfg.client_id,
        "lti_deployment_id": cfg.deployment_id,
    }
    return redirect(f"{cfg.tool_login_url}?{urlencode(params)}", code=302)


@views.get("/launch/<resource_link_id>")
def launch(resource_link_id: str) -> BaseResponse:
    devlms = get_devlms()
    link = devlms.store.links.get(resource_link_id)
    if link is None:
        return _plain(f"unknown resource link {resource_link_id!r}", 404)
    user = _launch_user()
    if user is None:
        return _plain(
            "unknown or missing user (use ?user=learner1|learner2|instructor|admin)"
        )
    hint = MessageHint(user.id, RESOURCE_LINK_REQUEST, link.id, time.time())
    return _login_redirect(devlms, user, hint, devlms.link_url(link.url))


@views.get("/launch-deep-link")
def launch_deep_link() -> BaseResponse:
    devlms = get_devlms()
    user = _launch_user()
    if user is None:
        return _plain("unknown or missing user")
    if not user.is_instructor:
        return _plain("only instructors can start a deep-linking request", 403)
    hint = MessageHint(user.id, DEEP_LINKING_REQUEST, None, time.time())
    return _login_redirect(devlms, user, hint, devlms.config.tool_deep_link_url)


# -- authorization endpoint ------------------------------------------------------
def _check_auth_request(
    devlms: DevLms, params: dict[str, str]
) -> tuple[User, MessageHint]:
    cfg = devlms.config
    if "openid" not in params.get("scope", "").split():
        raise ServiceError("scope must be openid")
    if params.get("response_type") != "id_token":
        raise ServiceError("response_type must be id_token")
    if params.get("response_mode") != "form_post":
        raise ServiceError("response_mode must be form_post")
    if params.get("prompt") != "none":
        raise ServiceError("prompt must be none")
    if params.get("client_id") != cfg.client_id:
        raise ServiceError("unknown client_id")
    if params.get("redirect_uri") != cfg.tool_launch_url:
        raise ServiceError("redirect_uri is not the registered launch URL")
    user = USERS.get(params.get("login_hint", ""))
    if user is None or not user.launches:
        raise ServiceError("unknown login_hint")
    hint = devlms.store.get_hint(params.get("lti_message_hint", ""))
    if hint is None:
        raise ServiceError("invalid or expired lti_message_hint")
    if hint.user_id != user.id:
        raise ServiceError("lti_message_hint was issued for another user")
    if not params.get("state"):
        raise ServiceError("state is required")
    nonce = params.get("nonce", "")
    if not nonce:
        raise ServiceError("nonce is required")
    if not devlms.store.consume_once("auth-nonce", nonce):
        raise ServiceError("nonce was already used")
    return user, hint


@views.route("/auth", methods=["GET", "POST"])
def auth() -> Response | str:
    devlms = get_devlms()
    cfg = devlms.config
    params = dict(request.values.items())
    try:
        user, hint = _check_auth_request(devlms, params)
    except ServiceError as exc:
        return _plain(exc.message, exc.status)

    link: ResourceLink | None = None
    if hint.message_type == DEEP_LINKING_REQUEST:
        target = cfg.tool_deep_link_url
    else:
        link = devlms.store.links.get(hint.resource_link_id or "")
        if link is None:
            return _plain("the resource link of this launch no longer exists")
        target = devlms.link_url(link.url)

    conf = devlms.platform_conf(audience=cfg.issuer_url, target_link_uri=target)
    message = DevLmsMessageLaunch(
        params, conf, lambda data: render_template("autopost.html", **data)
    )
    message.set_user_data(
        user.sub, list(user.roles), full_name=user.name, email_address=user.email
    )
    message.set_launch_context_claim(
        COURSE_ID, [COURSE_TYPE], COURSE_TITLE, COURSE_LABEL
    )
    message.set_launch_presentation_claim("iframe", return_url=f"{cfg.base}/")
    message.set_custom_parameters_claim(dict(link.custom) if link else {})
    lineitem_url = None
    if link is not None:
        message.set_resource_link_claim(link.id, title=link.title)
        items = devlms.store.list_lineitems(resource_link_id=link.id)
        if len(items) == 1:
            lineitem_url = cfg.lineitem_url(items[0][0])
    message.set_ags(cfg.lineitems_url, lineitem_url)
    message.set_nrps(cfg.memberships_url)
    message.set_extra_claims(
        {
            "given_name": user.given_name,
            "family_name": user.family_name,
            f"{LTI}/tool_platform": {
                "guid": f"devlms-{cfg.client_id}",
                "name": "tierpath devlms",
                "product_family_code": "devlms",
                "version": "0.1",
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
            "title": "Add tierpath content",
            "data": devlms.store.new_dl_request(params["nonce"], user.id),
        }
    try:
        html: str = message.lti_launch()
    except PreflightRequestValidationException:
        return _plain("authorization request is missing nonce, state or redirect_uri")
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


# -- deep-linking return ---------------------------------------------------------------
def _check_deep_link_claims(devlms: DevLms, claims: dict[str, Any]) -> None:
    cfg = devlms.config
    if claims.get("iss") != cfg.client_id:
        raise ServiceError("iss must be the client_id")
    if claims.get(f"{LTI}/deployment_id") != cfg.deployment_id:
        raise ServiceError("deployment_id does not match")
    if claims.get(f"{LTI}/version") != "1.3.0":
        raise ServiceError("version must be 1.3.0")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise ServiceError("nonce is required")
    data = claims.get(f"{LTI_DL}/data")
    request_info = devlms.store.pop_dl_request(data) if isinstance(data, str) else None
    if request_info is None:
        raise ServiceError("data does not match a pending deep-linking request")
    if not devlms.store.consume_once("dl-nonce", nonce):
        raise ServiceError("nonce was already used")


def _prepare_item(
    devlms: DevLms, item: dict[str, Any]
) -> tuple[ResourceLink, dict[str, Any] | None]:
    """Validate one ``ltiResourceLink`` item; return the link and its line item."""
    cfg = devlms.config
    url = item.get("url") or cfg.tool_home_url
    if not isinstance(url, str) or not cfg.is_tool_url(url):
        raise ServiceError("content item url must be on the tool's origin")
    title = item.get("title") or "Untitled tierpath activity"
    custom = item.get("custom") or {}
    if not isinstance(title, str) or not isinstance(custom, dict):
        raise ServiceError("content item title must be a string and custom an object")
    link = ResourceLink(
        id="rl-" + secrets.token_hex(6),
        title=title,
        url=url,
        custom={str(k): str(v) for k, v in custom.items()},
        text=str(item.get("text") or ""),
    )
    line_item = item.get("lineItem")
    if line_item is None:
        return link, None
    if not isinstance(line_item, dict):
        raise ServiceError("lineItem must be an object")
    label = line_item.get("label") or title
    return link, validate_lineitem(
        {**line_item, "label": label, "resourceLinkId": link.id}
    )


@views.post("/deep_link_return")
def deep_link_return() -> Response | str:
    devlms = get_devlms()
    token = request.form.get("JWT", "")
    if not token:
        return _plain("JWT form field is required")
    conf = devlms.platform_conf(audience=devlms.config.issuer_url)
    conf.set_accepted_deeplinking_types(["ltiResourceLink"])
    try:
        items = conf.validate_deeplinking_resp({"JWT": token})
        _check_deep_link_claims(devlms, conf.verified_claims)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ServiceError("content_items must be a list of objects")
        prepared = [_prepare_item(devlms, item) for item in items]
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
            devlms.store.create_lineitem(line_item)
        placed.append(link)
    if placed:
        message = "Added from tierpath: " + ", ".join(link.title for link in placed)
    else:
        message = "No content was selected in tierpath."
    return _render_course(message, in_frame=True)
