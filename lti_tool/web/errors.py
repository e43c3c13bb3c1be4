"""Map refusals and HTTP errors to a page (or JSON) with a support code; never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from lti_tool.errors import Refused, new_support_code

log = logging.getLogger("lti_tool.refusals")


def wants_json() -> bool:
    """Tell whether the client asked for JSON rather than a page."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and (
        request.accept_mimetypes["application/json"]
        > request.accept_mimetypes["text/html"]
    )


def render_refusal(refused: Refused) -> tuple[Response | str, int]:
    """Log a refusal with its support code and render it for a person or a program."""
    log.warning(
        "refused status=%s code=%s support_code=%s method=%s path=%s detail=%s",
        refused.status,
        refused.code,
        refused.support_code,
        request.method,
        request.path,
        refused.detail or refused.message,
    )
    if wants_json():
        body: dict[str, str] = {
            "error": refused.code,
            "message": refused.message,
            "support_code": refused.support_code,
        }
        if refused.hint:
            body["hint"] = refused.hint
        if refused.new_window_url:
            body["new_window_url"] = refused.new_window_url
        return jsonify(body), refused.status
    return render_template("errors/error.html", refused=refused), refused.status


_HTTP_MESSAGES = {
    400: "The request could not be understood.",
    404: "There is no tierpath page at this address.",
    405: "This page cannot be used that way.",
    413: "What you sent is too large. Evidence files have a size limit shown on"
    " the form; send fewer or smaller files.",
}


def register_error_handlers(app: Flask) -> None:
    """Install the handlers: Refused, HTTP errors, and a last-resort 500 page."""

    @app.errorhandler(Refused)
    def _refused(error: Refused) -> tuple[Response | str, int]:
        return render_refusal(error)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> tuple[Response | str, int]:
        status = error.code or 500
        message = _HTTP_MESSAGES.get(status, error.description or error.name)
        return render_refusal(
            Refused(status, error.name.lower().replace(" ", "_"), message)
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[Response | str, int]:
        support_code = new_support_code()
        log.exception(
            "unexpected error support_code=%s path=%s", support_code, request.path
        )
        refused = Refused(
            500,
            "internal_error",
            "Something went wrong in tierpath. Nothing you did caused it.",
            hint="Try again. If it happens again, give your administrator the"
            " support code.",
        )
        refused.support_code = support_code
        if wants_json():
            return jsonify(
                {
                    "error": refused.code,
                    "message": refused.message,
                    "support_code": support_code,
                }
            ), 500
        return render_template("errors/error.html", refused=refused), 500
