"""Flask app factory of devlrs, the development xAPI Learning Record Store.

Routes: the xAPI 1.0.3 statement resource under ``/xapi`` (HTTP Basic auth,
``X-Experience-API-Version`` required), a control API under ``/_control``
(no auth: bind to loopback only) and a refreshing page ``/`` for demos.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import HTTPException

from .faults import FaultPlan, FaultPlanError, Faults
from .store import Conflict, Record, Store
from .xapi import (
    SINGLE_PARAMS,
    LrsError,
    Query,
    WriteBody,
    bad_request,
    canonical_uuid,
    check_attachments,
    check_format,
    check_statements,
    decode_more,
    encode_more,
    multipart,
    parse_json,
    parse_write_body,
    payload_ids,
)

__all__ = ["DevLrs", "DevLrsConfig", "create_app", "get_lrs"]

EXTENSION_KEY = "devlrs"
XAPI_VERSION = "1.0.3"
SUPPORTED_VERSIONS = ("1.0.3", "2.0.0")
WRITE_METHODS = ("POST", "PUT")


@dataclass
class DevLrsConfig:
    """Settings of a devlrs instance.

    ``authority_home_page`` is the homePage of the authority Agent set on
    stored statements (default: the LRS's own base URL).
    """

    username: str = "tierpath"
    password: str = "devlrs-secret"  # a development default
    realm: str = "devlrs"
    authority_home_page: str | None = None
    default_limit: int = 100
    max_limit: int = 500
    max_body_bytes: int = 32 * 1024 * 1024
    page_statements: int = 50


@dataclass
class DevLrs:
    """The state of one devlrs app: config, statement store and fault plan."""

    config: DevLrsConfig
    store: Store = field(default_factory=Store)
    faults: Faults = field(default_factory=Faults)


def get_lrs(app: Flask | None = None) -> DevLrs:
    """The :class:`DevLrs` of ``app`` (default: the current app)."""
    lrs = (app or current_app).extensions[EXTENSION_KEY]
    assert isinstance(lrs, DevLrs)
    return lrs


def create_app(
    config: DevLrsConfig | None = None,
    *,
    store: Store | None = None,
    faults: Faults | None = None,
) -> Flask:
    """Build a devlrs app with a fresh store and an empty fault plan."""
    app = Flask(__name__)
    lrs = DevLrs(config or DevLrsConfig(), store or Store(), faults or Faults())
    app.config.update(MAX_CONTENT_LENGTH=lrs.config.max_body_bytes)
    app.extensions[EXTENSION_KEY] = lrs
    app.register_blueprint(xapi, url_prefix="/xapi")
    app.register_blueprint(control, url_prefix="/_control")
    app.register_blueprint(views)
    app.register_error_handler(LrsError, _lrs_error)
    app.register_error_handler(HTTPException, _http_error)
    app.after_request(_after)
    return app


# -- errors and common headers ---------------------------------------------------------
def _error(
    status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _lrs_error(error: LrsError) -> Response:
    return _error(error.status, error.message, error.headers)


def _http_error(error: HTTPException) -> Response:
    response = jsonify(error=error.description or error.name)
    response.status_code = error.code or 500
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value  # e.g. Allow on 405
    return response


def _after(response: Response) -> Response:
    response.headers["X-Experience-API-Version"] = XAPI_VERSION
    if request.path.startswith("/xapi"):
        get_lrs().store.note_request(request.method, response.status_code)
        if request.method in ("GET", "HEAD") and request.endpoint in (
            "devlrs_xapi.statements",
            "devlrs_xapi.more",
        ):
            response.headers["X-Experience-API-Consistent-Through"] = (
                get_lrs().store.consistent_through()
            )
    return response


# -- the xAPI resources ----------------------------------------------------------------
xapi = Blueprint("devlrs_xapi", __name__)


@xapi.before_request
def _gate() -> None:
    """Count arriving ids, then check the version header and the credentials."""
    lrs = get_lrs()
    if request.endpoint == "devlrs_xapi.statements" and request.method in WRITE_METHODS:
        body = _read_write_body()
        ids = payload_ids(body.payload) if isinstance(body, WriteBody) else []
        param_id = request.args.get("statementId", "").lower()
        if request.method == "PUT" and not ids and param_id:
            ids = [param_id]
        lrs.store.note_received(ids)
    if request.endpoint == "devlrs_xapi.about":
        return
    version = request.headers.get("X-Experience-API-Version", "")
    if not version.startswith(("1.0.", "2.0.")):
        raise bad_request(
            "X-Experience-API-Version header missing or unsupported"
            f" ({version or 'missing'}); send 1.0.3"
        )
    auth = request.authorization
    config = lrs.config
    if (
        auth is None
        or auth.type != "basic"
        or not hmac.compare_digest(
            (auth.username or "").encode(), config.username.encode()
        )
        or not hmac.compare_digest(
            (auth.password or "").encode(), config.password.encode()
        )
    ):
        lrs.store.note_authorization_failed()
        raise LrsError(
            401,
            "missing or wrong credentials (HTTP Basic)",
            {"WWW-Authenticate": f'Basic realm="{config.realm}"'},
        )


def _read_write_body() -> WriteBody | LrsError:
    """The parsed body of this write (or why it is malformed), parsed once."""
    if "devlrs_body" not in g:
        try:
            g.devlrs_body = parse_write_body(
                request.mimetype, request.mimetype_params, request.get_data()
            )
        except LrsError as error:
            g.devlrs_body = error
    body = g.devlrs_body
    assert isinstance(body, WriteBody | LrsError)
    return body


@xapi.route("/about")
def about() -> Response:
    return jsonify(version=list(SUPPORTED_VERSIONS))


@xapi.route("/statements", methods=["GET", "POST", "PUT"])
def statements() -> Response:
    method = "GET" if request.method == "HEAD" else request.method
    _inject_before(method)
    if method == "GET":
        return _get()
    return _write(method)


@xapi.route("/statements/more/<token>")
def more(token: str) -> Response:
    _inject_before("GET")
    params, cursor = decode_more(token)
    return _list(params, cursor)


def _inject_before(method: str) -> None:
    """Apply ``delay`` and ``fail_next`` faults."""
    faults = get_lrs().faults
    pause = faults.take_delay(method)
    if pause:
        time.sleep(pause)
    failure = faults.take_failure(method)
    if failure is not None:
        headers: dict[str, str] = {}
        if failure.retry_after is not None:
            headers["Retry-After"] = str(failure.retry_after)
        if failure.status == 401:
            headers["WWW-Authenticate"] = f'Basic realm="{get_lrs().config.realm}"'
        raise LrsError(failure.status, failure.message, headers)


def _authority() -> dict[str, Any]:
    config = get_lrs().config
    home = config.authority_home_page or request.host_url.rstrip("/")
    return {
        "objectType": "Agent",
        "name": config.username,
        "account": {"homePage": home, "name": config.username},
    }


def _write(method: str) -> Response:
    lrs = get_lrs()
    single = method == "PUT"
    statement_id = None
    if single:
        extra = sorted(set(request.args) - {"statementId"})
        if extra:
            raise bad_request(f"unexpected parameter(s): {', '.join(extra)}")
        statement_id = canonical_uuid(request.args.get("statementId"))
        if statement_id is None:
            raise bad_request("PUT needs a statementId parameter holding a UUID")
    elif request.args:
        raise bad_request(
            f"POST takes no query parameters (got {', '.join(sorted(request.args))})"
        )
    body = _read_write_body()
    if isinstance(body, LrsError):
        raise body
    payload = body.payload
    if statement_id is not None and isinstance(payload, dict) and "id" not in payload:
        payload = {**payload, "id": statement_id}
    batch = check_statements(payload, single=single, rejection=lrs.faults.rejection)
    if statement_id is not None and batch[0]["id"] != statement_id:
        raise bad_request(
            f"the statement id {batch[0]['id']} does not match statementId {statement_id}"
        )
    check_attachments(batch, body.parts)
    try:
        ids = lrs.store.add(batch, _authority(), body.parts)
    except Conflict as conflict:
        raise LrsError(
            409,
            f"statement id(s) already stored: {', '.join(conflict.ids)};"
            " nothing of this request was stored",
        ) from None
    hang, failure = lrs.faults.take_after_store()
    if hang:
        time.sleep(hang)
    if failure is not None:
        raise LrsError(failure.status, failure.message)
    if single:
        return Response(status=204)
    return jsonify(ids)


def _single_args() -> dict[str, str]:
    repeated = sorted(k for k in request.args if len(request.args.getlist(k)) > 1)
    if repeated:
        raise bad_request(f"parameter(s) given more than once: {', '.join(repeated)}")
    return request.args.to_dict()


def _get() -> Response:
    params = _single_args()
    if "statementId" not in params and "voidedStatementId" not in params:
        return _list(params, None)
    extra = sorted(set(params) - SINGLE_PARAMS)
    if extra or ("statementId" in params and "voidedStatementId" in params):
        raise bad_request(
            "statementId / voidedStatementId take no other parameters than"
            " format and attachments"
        )
    check_format(params)
    with_attachments = params.get("attachments", "false") == "true"
    key = "statementId" if "statementId" in params else "voidedStatementId"
    statement_id = canonical_uuid(params[key])
    if statement_id is None:
        raise bad_request(f"{key} must be a UUID")
    statement = get_lrs().store.get(statement_id) if key == "statementId" else None
    if statement is None:
        # Voiding is not modelled, so no statement is ever voided.
        raise LrsError(404, f"no statement with id {statement_id}")
    return _statement_response(statement, [statement], with_attachments)


def _list(params: dict[str, str], cursor: int | None) -> Response:
    lrs = get_lrs()
    query = Query.parse(
        params,
        default_limit=lrs.config.default_limit,
        max_limit=lrs.config.max_limit,
    )
    found, next_cursor = lrs.store.select(
        query.matches, ascending=query.ascending, after=cursor, limit=query.limit
    )
    more_path = ""
    if next_cursor is not None:
        more_path = url_for("devlrs_xapi.more", token=encode_more(params, next_cursor))
    result = {"statements": found, "more": more_path}
    return _statement_response(result, found, query.attachments)


def _statement_response(
    payload: Any, statements: list[dict[str, Any]], with_attachments: bool
) -> Response:
    if not with_attachments:
        return jsonify(payload)
    store = get_lrs().store
    parts: dict[str, bytes] = {}
    for statement in statements:
        for attachment in statement.get("attachments") or []:
            sha2 = str(attachment.get("sha2", "")).lower()
            content = store.attachment(sha2)
            if content is not None:
                parts[sha2] = content
    body, content_type = multipart(payload, parts)
    return Response(body, content_type=content_type)


# -- the control API (tests and demos; no auth) ----------------------------------------
control = Blueprint("devlrs_control", __name__)


@control.get("/state")
def state() -> Response:
    lrs = get_lrs()
    return jsonify({**lrs.store.snapshot(), "faults": lrs.faults.plan.to_json()})


@control.post("/reset")
def reset() -> Response:
    lrs = get_lrs()
    lrs.store.reset()
    lrs.faults.clear()
    return Response(status=204)


@control.get("/faults")
def faults_get() -> Response:
    return jsonify(get_lrs().faults.plan.to_json())


@control.post("/faults")
def faults_set() -> Response:
    try:
        plan = FaultPlan.from_json(parse_json(request.get_data(), "fault plan"))
        plan = get_lrs().faults.set(plan)
    except FaultPlanError as error:
        raise bad_request(str(error)) from None
    return jsonify(plan.to_json())


@control.delete("/faults")
def faults_clear() -> Response:
    get_lrs().faults.clear()
    return Response(status=204)


# -- the page a demo viewer watches ----------------------------------------------------
views = Blueprint("devlrs_views", __name__)


def _row(record: Record) -> dict[str, Any]:
    statement = record.statement
    actor = statement.get("actor") or {}
    account = actor.get("account") or {}
    verb = statement.get("verb") or {}
    display = verb.get("display") or {}
    result = statement.get("result") or {}
    score = result.get("score") or {}
    scored = [f"{name} {score[name]}" for name in ("scaled", "raw") if name in score]
    return {
        "time": statement.get("stored", ""),
        "actor": account.get("name") or actor.get("name") or actor.get("mbox") or "?",
        "verb": display.get("en-US")
        or next(iter(display.values()), verb.get("id", "")),
        "object": (statement.get("object") or {}).get("id", ""),
        "score": ", ".join(scored),
        "success": "" if "success" not in result else str(result["success"]).lower(),
    }


@views.get("/")
def index() -> str:
    lrs = get_lrs()
    requests_by_status, authorizations_failed = lrs.store.request_counts()
    return render_template(
        "index.html",
        count=len(lrs.store),
        rows=[_row(r) for r in lrs.store.latest(lrs.config.page_statements)],
        requests=sorted(requests_by_status.items()),
        authorizations_failed=authorizations_failed,
        faults=lrs.faults.plan,
        endpoint=request.host_url + "xapi/",
    )
