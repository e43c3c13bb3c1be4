"""Cookie attributes follow the scheme the browser used, also behind a proxy."""

from __future__ import annotations

from flask import Flask

from tests.support.platform import SimulatedPlatform


def _state_cookie(app: Flask, headers: dict[str, str]) -> str:
    platform = SimulatedPlatform(tool_origin="https://tool.test")
    platform.install(app)
    response = app.test_client().get(
        "/lti/login",
        base_url="http://tool.test",
        query_string=platform.login_params(),
        headers=headers,
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return next(
        c
        for c in response.headers.getlist("Set-Cookie")
        if c.startswith("tierpath_state_")
    )


def test_behind_a_tls_proxy_cookies_are_secure_with_proxy_fix(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(PROXY_FIX_X_PROTO=1)
    cookie = _state_cookie(app, {"X-Forwarded-Proto": "https"})
    for attribute in ("Secure", "SameSite=None", "Partitioned"):
        assert attribute in cookie


def test_forwarded_proto_is_ignored_without_proxy_fix(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()
    cookie = _state_cookie(app, {"X-Forwarded-Proto": "https"})
    assert "Secure" not in cookie
    assert "SameSite=Lax" in cookie
