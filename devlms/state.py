"""Configuration and runtime objects of one devlms instance.

:class:`DevLmsConfig` is a *mutable* dataclass: every URL is derived from it
when a request is handled, so a test can build the app, bind a server to port
0, and only then set ``config.base_url`` (see :mod:`devlms.app`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, current_app

from .platform import (
    DevLmsPlatformConf,
    DevLmsRegistration,
    JwksFetcher,
    PlatformKey,
    ToolJwksCache,
    load_or_create_private_key,
)
from .services import ADVANTAGE_SCOPES, COURSE_ID, ResourceLink, Store
from .storage import storage_mode_from_env
from .tools import ToolRegistration, origin_of

EXTENSION_KEY = "devlms"


@dataclass
class DevLmsConfig:
    """Settings of a devlms instance (mutable; read lazily per request).

    ``issuer`` defaults to ``base_url``.  ``data_dir=None`` keeps everything in
    memory; otherwise the platform key (0600 PEM) and ``state.json`` live
    there.  ``tool_jwks_fetcher(url) -> dict`` replaces the HTTP fetch of the
    tool JWKS (tests inject a throwaway key this way; it serves every tool,
    dynamically registered ones included).

    ``platform_storage`` is the default LTI Platform Storage mode of framed
    launches: ``parent``, ``frame`` or ``off`` (see :mod:`devlms.storage`;
    default from ``DEVLMS_PLATFORM_STORAGE``).  ``registration_token_ttl`` is
    the lifetime in seconds of a Dynamic Registration ``registration_token``.
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
    platform_storage: str = field(default_factory=storage_mode_from_env)
    registration_token_ttl: float = 600.0

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

    @property
    def openid_configuration_url(self) -> str:
        return f"{self.base}/.well-known/openid-configuration"

    @property
    def registration_endpoint(self) -> str:
        return f"{self.base}/lti/registrations"

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
        """True if ``url`` is on the built-in tool's origin (scheme + host + port)."""
        return origin_of(url) == origin_of(self.tool)

    def default_tool(self) -> ToolRegistration:
        """The built-in (tierpath) tool, derived from the current settings."""
        return ToolRegistration(
            client_id=self.client_id,
            deployment_id=self.deployment_id,
            name="tierpath",
            initiate_login_uri=self.tool_login_url,
            redirect_uris=[self.tool_launch_url],
            jwks_uri=self.tool_jwks_url,
            target_link_uri=self.tool_home_url,
            domains=[],
            deep_link_uri=self.tool_deep_link_url,
            scopes=sorted(ADVANTAGE_SCOPES),
            extra_origins=[origin_of(self.tool)],
        )

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
    """Runtime state: config, platform key, tool JWKS caches and the store."""

    def __init__(self, config: DevLmsConfig) -> None:
        self.config = config
        pem = config.private_key_pem or load_or_create_private_key(config.data_dir)
        self.key = PlatformKey(pem)
        self.store = Store(config.data_dir)
        # The built-in tool's cache follows config.tool_url lazily.
        self.tool_jwks = ToolJwksCache(
            lambda: self.config.tool_jwks_url, config.tool_jwks_fetcher
        )
        self._jwks_caches: dict[str, ToolJwksCache] = {}

    # -- tools ---------------------------------------------------------------
    def tools(self) -> list[ToolRegistration]:
        """The built-in tool first, then dynamically registered ones."""
        return [self.config.default_tool(), *self.store.list_tools()]

    def tool(self, client_id: str | None) -> ToolRegistration | None:
        """The tool registered under ``client_id`` (None if unknown)."""
        if not client_id:
            return None
        if client_id == self.config.client_id:
            return self.config.default_tool()
        return self.store.get_tool(client_id)

    def tool_for_link(self, link: ResourceLink) -> ToolRegistration | None:
        """The tool a placed link launches ('' = the built-in tool)."""
        if not link.tool:
            return self.config.default_tool()
        return self.tool(link.tool)

    def tool_for_lineitem(self, item_id: str) -> ToolRegistration | None:
        """The tool a line item belongs to (its link's tool, else its creator)."""
        item = self.store.get_lineitem(item_id)
        link = self.store.links.get(item.get("resourceLinkId") or "")
        if link is not None:
            return self.tool_for_link(link)
        owner = self.store.lineitem_owner(item_id)
        return self.tool(owner) if owner else self.config.default_tool()

    def jwks_for(self, tool: ToolRegistration) -> ToolJwksCache:
        if not tool.dynamic:
            return self.tool_jwks
        cache = self._jwks_caches.get(tool.client_id)
        if cache is None:
            url = tool.jwks_uri
            cache = ToolJwksCache(lambda: url, self.config.tool_jwks_fetcher)
            self._jwks_caches[tool.client_id] = cache
        return cache

    def registration(
        self, tool: ToolRegistration, target_link_uri: str | None = None
    ) -> DevLmsRegistration:
        reg = DevLmsRegistration(self.key)
        reg.set_iss(self.config.issuer_url)
        reg.set_client_id(tool.client_id)
        reg.set_deployment_id(tool.deployment_id)
        reg.set_oidc_login_url(tool.initiate_login_uri)
        reg.set_launch_url(target_link_uri or tool.target_link_uri)
        reg.set_deeplink_launch_url(tool.deep_link_uri or tool.target_link_uri)
        reg.set_tool_key_set_url(tool.jwks_uri)
        reg.set_platform_public_key(self.key.public_pem)
        reg.set_platform_private_key(self.key.private_key)
        return reg

    def platform_conf(
        self,
        tool: ToolRegistration,
        audience: str,
        target_link_uri: str | None = None,
    ) -> DevLmsPlatformConf:
        """A fresh lti1p3platform config object for one request."""
        return DevLmsPlatformConf(
            registration=self.registration(tool, target_link_uri),
            tool_jwks=self.jwks_for(tool),
            audience=audience,
        )

    def link_url(self, link: ResourceLink) -> str:
        """Target of a placed link ('' means the tool's default target)."""
        if link.url:
            return link.url
        tool = self.tool_for_link(link)
        return tool.target_link_uri if tool else self.config.tool_home_url


def get_devlms(app: Flask | None = None) -> DevLms:
    """The :class:`DevLms` of ``app`` (default: the current app)."""
    target = app if app is not None else current_app
    devlms: DevLms = target.extensions[EXTENSION_KEY]
    return devlms
