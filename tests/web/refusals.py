"""Helpers for asserting refusals: status, reason code, support code, log line.

A refusal is checked the way a learner and a program see it: the HTML page
shows the support code and the reason, the JSON body carries
``{"error", "message", "support_code"}``, and the same support code is in the
``lti_tool.refusals`` log so an admin can find the event.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import TOOL_ORIGIN

SUPPORT_CODE = re.compile(r"TP-[A-Z2-9]{4}-[A-Z2-9]{4}")
REFUSAL_LOGGER = "lti_tool.refusals"
HTML_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
JSON_ACCEPT = "application/json"
TOOL_HOST = TOOL_ORIGIN.split("//")[1]


def new_browser(app: Flask, accept: str = HTML_ACCEPT) -> FlaskClient:
    """A second, cookie-less browser on the tool's HTTPS origin."""
    browser = app.test_client()
    browser.environ_base.update(
        {"wsgi.url_scheme": "https", "HTTP_HOST": TOOL_HOST, "HTTP_ACCEPT": accept}
    )
    return browser


def accept_header(wire: str) -> str:
    return JSON_ACCEPT if wire == "json" else HTML_ACCEPT


def expect_refusal(
    response: TestResponse,
    *,
    status: int,
    code: str,
    wire: str,
    caplog: pytest.LogCaptureFixture,
) -> dict[str, Any]:
    """Assert a rendered refusal in `wire` format ("html" or "json"); return its data."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text[:2000]
    assert "Traceback" not in text
    data: dict[str, Any]
    if wire == "json":
        assert response.is_json, response.mimetype
        data = response.get_json()
        assert data["error"] == code, data
        assert isinstance(data["message"], str)
        assert data["message"]
        assert SUPPORT_CODE.fullmatch(data["support_code"]), data
    else:
        assert response.mimetype == "text/html", response.mimetype
        found = SUPPORT_CODE.search(text)
        assert found is not None, text[:2000]
        assert f"<code>{code}</code>" in text, text[:2000]
        data = {"error": code, "support_code": found.group(0), "html": text}
    logged = [
        record.getMessage()
        for record in caplog.records
        if record.name == REFUSAL_LOGGER
    ]
    assert any(
        data["support_code"] in line and f"code={code}" in line for line in logged
    ), logged
    return data


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(data: Any) -> str:
    return b64url(json.dumps(data).encode())
