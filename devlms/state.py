"""Configuration and runtime objects of one devlms instance.

:class:`DevLmsConfig` is a *mutable* dataclass: every URL is derived from it
when a request is handled, so a test can build the app, bind a server to port
0, and only then set ``config.base_url`` (see :mod:`devlms.app`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, current_app

from .platform import (
    DevLmsPlatformConf,
    DevLmsRegistration,
    JwksFetcher,
    PlatformKey,
    ToolJwksCache,
    load_or_create_private_key,
)
from .services import COURSE_ID, Store

EXTENSION_KEY = "devlms"


@dataclass
class DevLmsConfig:
    """Settings of a devlms instance (mutable; read lazily per request).

    ``issuer`` defaults to ``base_url``.  ``data_dir=None`` keeps everything in
    memory; otherwise the platform key (0600 PEM) and ``state.json`` live
    there.  ``tool_jwks_fetcher(url) -> dict`` replaces the HTTP fetch of the
    tool JWKS (tests inject a throwaway key this way).
    """

    base_url: str = "http://127.0.0.1:9100"
    tool_url: str = "http://localhost:5000"
    client_id: str = "tierpath-dev"
    deployment_id: str = "devlms-deployment-1"
    data_dir: Path | None = None
    issuer: str | None = None
    private_key_pem: str | None = None
    tool_jwks_fetcher: JwksFetcher | None = None
    secret_key: str | None = None

    # -- platform URLs ---------------------------------------------------------
    @property
    def base(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def issuer_url(self) -> str:
        return (self.issuer or self.base).rstrip("/")

    @property
    def auth_login_url(self) -> str:
        return f"{self.base}/auth"

    @property
    def token_url(self) -> str:
        return f"{self.base}/token"

    @property
    def jwks_url(self) -> str:
        return f"{self.base}/.well-known/jwks.json"

    @property
    def deep_link_return_url(self) -> str:
        return f"{self.base}/deep_link_return"

    @property
    def context_url(self) -> str:
        return f"{self.base}/api/contexts/{COURSE_ID}"

    @property
    def lineitems_url(self) -> str:
        return f"{self.context_url}/lineitems"

    def lineitem_url(self, item_id: str) -> str:
        return f"{self.lineitems_url}/{item_id}"

    @property
    def memberships_url(self) -> str:
        return f"{self.context_url}/memberships"

    # -- tool URLs -------------------------------------------------------------
    @property
    def tool(self) -> str:
        return self.tool_url.rstrip("/")

    @property
    def tool_login_url(self) -> str:
        return f"{self.tool}/lti/login"

    @property
    def tool_launch_url(self) -> str:
        return f"{self.tool}/lti/launch"

    @property
    def tool_jwks_url(self) -> str:
        return f"{self.tool}/.well-known/jwks.json"

    @property
    def tool_home_url(self) -> str:
        return f"{self.tool}/home"

    @property
    def tool_deep_link_url(self) -> str:
        return f"{self.tool}/lti/deep-link"

    def is_tool_url(self, url: str) -> bool:
        """True if ``url`` is on the tool's origin (scheme + host + port)."""
        tool, other = urlsplit(self.tool), urlsplit(url)
        return (tool.scheme, tool.netloc) == (other.scheme, other.netloc)

    def registration(self) -> dict[str, str]:
        return {
            "issuer": self.issuer_url,
            "client_id": self.client_id,
            "deployment_id": self.deployment_id,
            "auth_login_url": self.auth_login_url,
            "token_url": self.token_url,
            "jwks_url": self.jwks_url,
        }

    def registration_command(self) -> str:
        r = self.registration()
        return (
            f"tierpath platform add --issuer {r['issuer']} --client-id {r['client_id']}"
            f" --deployment-id {r['deployment_id']}"
            f" --auth-login-url {r['auth_login_url']} --token-url {r['token_url']}"
            f" --jwks-url {r['jwks_url']}"
        )


class DevLms:
    """Runtime state: config, platform key, tool JWKS cache and the store."""

    def __init__(self, config: DevLmsConfig) -> None:
        self.config = config
        pem = config.private_key_pem or load_or_create_private_key(config.data_dir)
        self.key = PlatformKey(pem)
        self.store = Store(config.data_dir)
        self.tool_jwks = ToolJwksCache(
            lambda: self.config.tool_jwks_url, config.tool_jwks_fetcher
        )

    def registration(self, target_link_uri: str | None = None) -> DevLmsRegistration:
        cfg = self.config
        reg = DevLmsRegistration(self.key)
        reg.set_iss(cfg.issuer_url)
        reg.set_client_id(cfg.client_id)
        reg.set_deployment_id(cfg.deployment_id)
        reg.set_oidc_login_url(cfg.tool_login_url)
        reg.set_launch_url(target_link_uri or cfg.tool_home_url)
        reg.set_deeplink_launch_url(cfg.tool_deep_link_url)
        reg.set_tool_key_set_url(cfg.tool_jwks_url)
        reg.set_platform_public_key(self.key.public_pem)
        reg.set_platform_private_key(self.key.private_key)
        return reg

    def platform_conf(
        self, audience: str, target_link_uri: str | None = None
    ) -> DevLmsPlatformConf:
        """A fresh lti1p3platform config object for one request."""
        return DevLmsPlatformConf(
            registration=self.registration(target_link_uri),
            tool_jwks=self.tool_jwks,
            audience=audience,
        )

    def link_url(self, url: str) -> str:
        """Target of a placed link ('' means the tool's default /home)."""
        return url or self.config.tool_home_url


def get_devlms(app: Flask | None = None) -> DevLms:
    """The :class:`DevLms` of ``app`` (default: the current app)."""
    target = app if app is not None else current_app
    devlms: DevLms = target.extensions[EXTENSION_KEY]
    return devlms
