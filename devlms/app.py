"""Flask app factory of devlms, the development LTI 1.3 platform.

Usage in tests (the port is only known after binding)::

    config = DevLmsConfig(base_url="http://127.0.0.1", tool_url=tool_base)
    app = create_platform(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    config.base_url = f"http://127.0.0.1:{server.server_port}"   # read lazily
    threading.Thread(target=server.serve_forever, daemon=True).start()

``set_base_url(app, url)`` does the same through the app object.  The issuer
follows ``base_url`` unless ``config.issuer`` is set.
"""

from __future__ import annotations

import secrets

from flask import Flask

from .api import api
from .registration import registration
from .state import EXTENSION_KEY, DevLms, DevLmsConfig, get_devlms
from .views import views

__all__ = ["DevLms", "DevLmsConfig", "create_platform", "get_devlms", "set_base_url"]


def create_platform(config: DevLmsConfig) -> Flask:
    """Build the devlms Flask app for ``config`` (kept by reference)."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key or secrets.token_hex(32),
        SESSION_COOKIE_NAME="devlms_session",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    app.extensions[EXTENSION_KEY] = DevLms(config)
    app.register_blueprint(views)
    app.register_blueprint(api)
    app.register_blueprint(registration)
    return app


def set_base_url(app: Flask, base_url: str) -> None:
    """Set the public base URL (and default issuer) after the server bound."""
    get_devlms(app).config.base_url = base_url.rstrip("/")
