"""Composition root: settings → adapters → blueprints → error pages → CLI."""

from __future__ import annotations

import logging
import os
import secrets
import time
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, g
from werkzeug.middleware.proxy_fix import ProxyFix

from lti_tool.db.engine import make_engine
from lti_tool.db.models import Platform
from lti_tool.lti.origin import origin_of
from lti_tool.runtime import Runtime, close_db, db
from lti_tool.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = ROOT / "config" / "defaults.toml"


def _instance_path(test_config: Mapping[str, Any] | None) -> str:
    if test_config and test_config.get("INSTANCE_PATH"):
        return str(Path(test_config["INSTANCE_PATH"]).resolve())
    configured = os.environ.get("TIERPATH_INSTANCE")
    if configured:
        return str(Path(configured).resolve())
    return str(ROOT / "instance")


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure an instance of the Flask application.

    Configuration comes from config/defaults.toml, then TIERPATH_* environment
    variables, then `test_config`; a ConfigError names any bad value.
    """
    app = Flask(
        "lti_tool",
        instance_path=_instance_path(test_config),
        template_folder=str(ROOT / "templates"),
        static_folder=None,
    )
    app.config.from_file(str(DEFAULTS), load=tomllib.load, text=False)
    app.config.from_prefixed_env("TIERPATH")
    if test_config:
        app.config.update(test_config)
    settings = load_settings(app.config, Path(app.instance_path))
    app.config["SECRET_KEY"] = settings.secret_key
    # Evidence forms carry up to 5 files; everything else is small.
    app.config["MAX_CONTENT_LENGTH"] = (5 * settings.evidence.max_file_mb + 1) * 2**20
    app.config["MAX_FORM_MEMORY_SIZE"] = 2**20
    logging.getLogger("lti_tool").setLevel(settings.log_level)
    if settings.database_url.startswith("sqlite:///"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    app.extensions["tierpath"] = Runtime.build(
        settings,
        engine,
        clock=(test_config or {}).get("CLOCK"),
        events=(test_config or {}).get("EVENT_SINK"),
    )
    if settings.proxy_fix.enabled:
        # Behind a TLS-terminating proxy: trust its X-Forwarded-* headers so
        # request.is_secure and the host are right (cookies need it).
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.proxy_fix.x_for,
            x_proto=settings.proxy_fix.x_proto,
            x_host=settings.proxy_fix.x_host,
            x_prefix=settings.proxy_fix.x_prefix,
        )
    app.teardown_appcontext(close_db)
    if settings.xapi.deliver_in_process:
        _start_deliverer_on_first_request(app)
    if settings.ags.deliver_in_process:
        _start_poster_on_first_request(app)
    _register_blueprints(app)
    _register_security_headers(app)
    from lti_tool.cli import register_commands

    register_commands(app)
    return app


def _start_deliverer_on_first_request(app: Flask) -> None:
    """Run the xAPI deliverer in this process (TIERPATH_XAPI_DELIVER_IN_PROCESS).

    Started by the first request, not by create_app: CLI commands build the app
    too, and a thread started before a server forks would not survive the fork.
    """
    from lti_tool.xapi_delivery import background_deliverer

    deliverer = background_deliverer(app.extensions["tierpath"])
    app.extensions["tierpath.deliverer"] = deliverer

    @app.before_request
    def _ensure_deliverer() -> None:
        deliverer.start()


def _start_poster_on_first_request(app: Flask) -> None:
    """Run the gradebook poster in this process (TIERPATH_AGS_DELIVER_IN_PROCESS)."""
    from lti_tool.ags_delivery import background_poster

    rt = app.extensions["tierpath"]
    poster = background_poster(rt, rt.tokens)
    app.extensions["tierpath.poster"] = poster

    @app.before_request
    def _ensure_poster() -> None:
        poster.start()


def _register_blueprints(app: Flask) -> None:
    from lti_tool.lti.blueprint import bp as lti_bp
    from lti_tool.web.admin import bp as admin_bp
    from lti_tool.web.badge_wall import bp as badge_wall_bp
    from lti_tool.web.badges import bp as badges_bp
    from lti_tool.web.errors import register_error_handlers
    from lti_tool.web.gradebook_admin import bp as gradebook_admin_bp
    from lti_tool.web.grading import bp as grading_bp
    from lti_tool.web.instructor import bp as instructor
    from lti_tool.web.learner import bp as learner
    from lti_tool.web.pages import bp as pages_bp
    from lti_tool.web.place import bp as place_bp
    from lti_tool.web.rotations import bp as rotations_bp
    from lti_tool.web.verify import bp as verify_bp
    from lti_tool.web.xapi_admin import bp as xapi_admin_bp
    from lti_tool.web.xapi_api import bp as xapi_api_bp

    app.register_blueprint(lti_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(learner)
    app.register_blueprint(instructor)
    app.register_blueprint(rotations_bp)
    app.register_blueprint(grading_bp)
    app.register_blueprint(gradebook_admin_bp)
    app.register_blueprint(place_bp)
    app.register_blueprint(badges_bp)
    app.register_blueprint(verify_bp)
    app.register_blueprint(badge_wall_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(xapi_api_bp)
    app.register_blueprint(xapi_admin_bp)
    register_error_handlers(app)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        db().execute(sa.text("SELECT 1"))
        return {"status": "ok"}


class _PlatformOrigins:
    """Registered LMS origins for frame-ancestors / form-action, refreshed each minute."""

    def __init__(self) -> None:
        self._origins: tuple[str, ...] = ()
        self._loaded_at = 0.0

    def get(self) -> tuple[str, ...]:
        if time.monotonic() - self._loaded_at > 60:
            origins: set[str] = set()
            for issuer, login_url in db().execute(
                # A registration waiting for approval may not frame tierpath yet.
                sa.select(Platform.issuer, Platform.auth_login_url).where(
                    Platform.approved_at.is_not(None)
                )
            ):
                for url in (issuer, login_url):
                    origin = origin_of(url)
                    if origin:
                        origins.add(origin)
            self._origins = tuple(sorted(origins))
            self._loaded_at = time.monotonic()
        return self._origins

    def reset(self) -> None:
        self._loaded_at = 0.0


def _register_security_headers(app: Flask) -> None:
    origins = _PlatformOrigins()
    app.extensions["tierpath_origins"] = origins

    @app.before_request
    def _nonce() -> None:
        g.csp_nonce = secrets.token_urlsafe(16)

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        return {"csp_nonce": g.get("csp_nonce", "")}

    @app.after_request
    def _headers(response: Response) -> Response:
        try:
            lms = " ".join(origins.get())
        except sa.exc.SQLAlchemyError:
            lms = ""  # no schema yet (before `tierpath db upgrade`)
        nonce = g.get("csp_nonce", "")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            f"form-action 'self' {lms}; "
            # Only registered LMSs may frame tierpath (not X-Frame-Options: DENY).
            f"frame-ancestors 'self' {lms}; base-uri 'none'; object-src 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
