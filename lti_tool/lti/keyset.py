"""Platform key sets: fetched over HTTP, cached by HTTP headers, refetched on a new kid.

pylti1p3 caches a JWKS without ever refetching, so a platform that rotates its key
locks every learner out until the cache expires (reference/lti.md §1.3). Here the
cache lives in the database (shared by every worker), honours Cache-Control /
Expires / ETag, refetches once when a token names a kid we have not seen (at most
once per JWKS_REFETCH_INTERVAL per platform), and serves a stale copy when the
platform's JWKS endpoint is down.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import orm

from lti_tool.db.models import Platform
from lti_tool.errors import Refused
from lti_tool.settings import Settings

log = logging.getLogger(__name__)

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def cache_lifetime(
    headers: requests.structures.CaseInsensitiveDict[str],
    now: datetime,
    settings: Settings,
) -> timedelta:
    """Return how long a JWKS response may be reused, from its HTTP headers."""
    cache_control = headers.get("Cache-Control", "")
    lowered = cache_control.lower()
    if "no-store" in lowered or "no-cache" in lowered:
        return timedelta(0)
    match = _MAX_AGE.search(cache_control)
    if match:
        seconds = int(match.group(1))
    elif headers.get("Expires"):
        try:
            expires = parsedate_to_datetime(headers["Expires"])
            seconds = int((expires - now).total_seconds())
        except (TypeError, ValueError):
            seconds = 0
    else:
        seconds = settings.jwks_default_max_age
    return timedelta(seconds=max(0, min(seconds, settings.jwks_max_max_age)))


def _find_key(jwks: dict[str, Any] | None, kid: str) -> dict[str, Any] | None:
    if not jwks:
        return None
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        return None
    for key in keys:
        if isinstance(key, dict) and key.get("kid") == kid:
            return key
    return None


class PlatformKeySets:
    """Find the platform public key for a token's kid, fetching the JWKS as needed.

    Cache writes commit in their own short transaction (`session_factory`), so
    the refetch rate limit holds even when the launch that caused it is refused.
    """

    def __init__(
        self,
        session_factory: Callable[[], orm.Session],
        http: requests.Session,
        settings: Settings,
    ) -> None:
        self._session_factory = session_factory
        self._http = http
        self._settings = settings

    def key_for(self, platform_id: int, kid: str, now: datetime) -> RSAPublicKey:
        """Return the RSA key with this kid, or raise Refused saying why not."""
        with self._session_factory() as session:
            platform = session.get(Platform, platform_id)
            if platform is None:
                raise Refused(400, "unknown_platform", "This LMS is not registered.")
            fresh = (
                platform.jwks_json is not None
                and platform.jwks_expires_at is not None
                and platform.jwks_expires_at > now
            )
            jwk = _find_key(platform.jwks_json, kid) if fresh else None
            if jwk is None:
                if fresh:
                    # A kid we have not seen although the cache is fresh: the
                    # platform may have rotated its key. Refetch, but rarely.
                    last = platform.jwks_refetched_at
                    interval = timedelta(seconds=self._settings.jwks_refetch_interval)
                    if last is not None and now - last < interval:
                        raise Refused(
                            400,
                            "unknown_kid",
                            "The LMS signed this launch with a key it has not published.",
                            detail=f"kid {kid!r} not in cached JWKS; refetch rate-limited",
                        )
                    platform.jwks_refetched_at = now
                try:
                    jwk = self._refresh(platform, kid, now)
                finally:
                    # Keep what we fetched and the rate-limit mark even when
                    # the kid is still unknown and the launch is refused.
                    session.commit()
            return self._to_key(jwk, kid)

    def _refresh(self, platform: Platform, kid: str, now: datetime) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if platform.jwks_etag and platform.jwks_json is not None:
            headers["If-None-Match"] = platform.jwks_etag
        try:
            response = self._http.get(platform.jwks_url, headers=headers)
            if response.status_code == 304 and platform.jwks_json is not None:
                jwks = platform.jwks_json
            else:
                response.raise_for_status()
                jwks = response.json()
                if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
                    raise ValueError("no 'keys' array")
        except (requests.RequestException, ValueError) as exc:
            stale = _find_key(platform.jwks_json, kid)
            log.warning(
                "JWKS fetch failed for %s (%s); stale copy %s",
                platform.jwks_url,
                exc,
                "used" if stale else "has no such key",
            )
            if stale is not None:
                return stale
            raise Refused(
                502,
                "jwks_unavailable",
                "tierpath could not fetch the LMS's public keys to check this launch.",
                hint="Try again in a minute. If it keeps happening, tell your LMS admin.",
                detail=f"GET {platform.jwks_url}: {exc}",
            ) from exc
        platform.jwks_json = jwks
        platform.jwks_etag = response.headers.get("ETag")
        platform.jwks_fetched_at = now
        platform.jwks_expires_at = now + cache_lifetime(
            response.headers, now, self._settings
        )
        jwk = _find_key(jwks, kid)
        if jwk is None:
            raise Refused(
                400,
                "unknown_kid",
                "The LMS signed this launch with a key it has not published.",
                detail=f"kid {kid!r} not in JWKS from {platform.jwks_url}",
            )
        return jwk

    @staticmethod
    def _to_key(jwk: dict[str, Any], kid: str) -> RSAPublicKey:
        if jwk.get("kty") != "RSA" or jwk.get("alg", "RS256") != "RS256":
            raise Refused(
                400,
                "algorithm_not_allowed",
                "The LMS's key for this launch is not an RS256 key.",
                detail=f"kid {kid!r}: kty={jwk.get('kty')!r} alg={jwk.get('alg')!r}",
            )
        try:
            key = RSAAlgorithm.from_jwk(json.dumps(jwk))
        except (ValueError, TypeError, KeyError) as exc:
            raise Refused(
                400, "bad_platform_key", "The LMS published a key tierpath cannot read."
            ) from exc
        if not isinstance(key, RSAPublicKey):
            raise Refused(
                400, "bad_platform_key", "The LMS published a private key as public."
            )
        return key
