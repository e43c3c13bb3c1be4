"""Typed, validated settings built once at startup from the Flask config."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class ConfigError(Exception):
    """Raised when the configuration is missing a value or holds an invalid one."""


@dataclass(frozen=True)
class ProxyFixSettings:
    """How many proxies to trust for each X-Forwarded-* header (0 = ignore it)."""

    x_for: int
    x_proto: int
    x_host: int
    x_prefix: int

    @property
    def enabled(self) -> bool:
        return any((self.x_for, self.x_proto, self.x_host, self.x_prefix))


@dataclass(frozen=True)
class XapiSettings:
    """Statement recording and delivery to external LRSs (seconds where timed)."""

    activity_base: (
        str | None
    )  # IRI base of activity ids; None = BASE_URL / request origin
    deliver_in_process: bool  # run a background deliverer inside the web app (demo)
    batch_size: int  # statements per POST (a target may lower it)
    poll_interval: float  # idle worker sleep between rounds
    lease: int  # a claimed batch comes back to others after this long
    retry_base: float  # first retry delay; doubles per attempt, with jitter
    retry_cap: float  # longest retry delay
    give_up_after: int  # a statement still failing this long after recording goes dead
    connect_timeout: float
    read_timeout: float


@dataclass(frozen=True)
class AgsSettings:
    """Posting scores to LMS gradebooks (seconds where timed)."""

    deliver_in_process: bool  # run a background poster inside the web app (demo)
    poll_interval: float
    lease: int
    retry_base: float
    retry_cap: float
    give_up_after: int  # a score still failing this long after it was queued goes dead


@dataclass(frozen=True)
class EvidenceSettings:
    """Job-rotation evidence uploads."""

    folder: str  # blob store root (default <instance>/evidence)
    max_file_mb: int


@dataclass(frozen=True)
class RegistrationSettings:
    """LTI Dynamic Registration (GET /lti/register), held for admin approval."""

    # Let the tool fetch an LMS's configuration over plain http from a loopback
    # host (127.0.0.1, ::1, localhost): development and the demo LMS only.
    allow_loopback: bool
    # At most this many registrations wait for approval; more are refused.
    max_pending: int


@dataclass(frozen=True)
class BadgeSettings:
    """Open Badges issuing and the public verify page."""

    issuer_name: str  # shown in every badge; the issuer id is the did:web
    verify_per_minute: int  # /verify checks per client address per minute
    verify_remote: bool  # /verify and `badge verify` may fetch other issuers' documents


@dataclass(frozen=True)
class Settings:
    """Everything the application reads from configuration, checked once."""

    database_url: str
    base_url: str | None
    secret_key: str
    key_encryption_key: bytes
    lti_clock_leeway: int
    lti_max_launch_age: int
    lti_login_ttl: int
    lti_launch_ttl: int
    jwks_refetch_interval: int
    jwks_default_max_age: int
    jwks_max_max_age: int
    http_connect_timeout: float
    http_read_timeout: float
    proxy_fix: ProxyFixSettings
    log_level: str
    testing: bool
    xapi: XapiSettings
    ags: AgsSettings
    evidence: EvidenceSettings
    registration: RegistrationSettings
    badges: BadgeSettings

    @property
    def http_timeout(self) -> tuple[float, float]:
        return (self.http_connect_timeout, self.http_read_timeout)


def _env_name(key: str) -> str:
    return f"TIERPATH_{key}"


def _int(config: Mapping[str, Any], key: str, low: int, high: int) -> int:
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(
            f"{_env_name(key)} must be a whole number between {low} and {high}"
            f" (got {value!r})"
        )
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(
            f"{_env_name(key)} must be a whole number between {low} and {high}"
            f" (got {value!r})"
        ) from None
    if not low <= number <= high:
        raise ConfigError(
            f"{_env_name(key)} must be between {low} and {high} (got {number})"
        )
    return number


def _float(config: Mapping[str, Any], key: str, low: float, high: float) -> float:
    value = config.get(key)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(
            f"{_env_name(key)} must be a number between {low} and {high}"
            f" (got {value!r})"
        ) from None
    if not low <= number <= high:
        raise ConfigError(
            f"{_env_name(key)} must be between {low} and {high} (got {number})"
        )
    return number


def _text(config: Mapping[str, Any], key: str, max_length: int) -> str:
    value = config.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise ConfigError(
            f"{_env_name(key)} must be a non-empty text of at most {max_length}"
            f" characters (got {value!r})"
        )
    return value.strip()


def _bool(config: Mapping[str, Any], key: str) -> bool:
    value = config.get(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | str) and str(value).lower() in (
        "0",
        "1",
        "true",
        "false",
    ):
        return str(value).lower() in ("1", "true")
    raise ConfigError(f"{_env_name(key)} must be true or false (got {value!r})")


def _base_url(value: object, key: str = "BASE_URL") -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ConfigError(f"TIERPATH_{key} must be a URL (got {value!r})")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"TIERPATH_{key} must look like https://tierpath.example.com"
            f" (got {value!r})"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(
            f"TIERPATH_{key} must be an origin only, without a path (got {value!r})"
        )
    return f"{parts.scheme}://{parts.netloc}".lower()


def _database_url(value: object, instance_path: Path) -> str:
    if value in (None, ""):
        return f"sqlite:///{instance_path / 'tierpath.sqlite3'}"
    if not isinstance(value, str) or "://" not in value:
        raise ConfigError(
            "TIERPATH_DATABASE_URL must be an SQLAlchemy URL such as"
            " postgresql+psycopg://user@host/db or sqlite:///path"
            f" (got {value!r})"
        )
    if value.startswith("postgres://"):
        raise ConfigError(
            "TIERPATH_DATABASE_URL uses postgres://; write postgresql+psycopg:// instead"
        )
    return value


def _secret_file(instance_path: Path, name: str, make: bytes) -> bytes:
    """Read a generated secret from the instance folder, creating it once (0600)."""
    path = instance_path / name
    if path.exists():
        return path.read_bytes().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(make)
    return make


def decode_key_encryption_key(value: str | bytes) -> bytes:
    """Decode a base64url key-encryption key and check it is 32 bytes long."""
    raw = value.encode() if isinstance(value, str) else value
    try:
        key = base64.urlsafe_b64decode(raw.strip() + b"=" * (-len(raw.strip()) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ConfigError(
            "TIERPATH_KEY_ENCRYPTION_KEY must be 32 random bytes in base64url; make"
            ' one with: python -c "import base64,os;'
            ' print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
        )
    return key


def new_key_encryption_key() -> str:
    """Return a fresh base64url key-encryption key."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def load_settings(config: Mapping[str, Any], instance_path: Path) -> Settings:
    """Build the settings from the merged Flask config, or raise ConfigError."""
    kek_value = config.get("KEY_ENCRYPTION_KEY")
    if kek_value in (None, ""):
        kek_value = _secret_file(
            instance_path, "key-encryption.key", new_key_encryption_key().encode()
        )
    if not isinstance(kek_value, str | bytes):
        raise ConfigError("TIERPATH_KEY_ENCRYPTION_KEY must be a string")
    secret_key = config.get("SECRET_KEY")
    if secret_key in (None, ""):
        secret_key = _secret_file(
            instance_path, "secret.key", secrets.token_urlsafe(48).encode()
        ).decode()
    if not isinstance(secret_key, str) or len(secret_key) < 32:
        raise ConfigError("TIERPATH_SECRET_KEY must be at least 32 characters long")
    log_level = str(config.get("LOG_LEVEL", "INFO")).upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(
            "TIERPATH_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR"
            f" (got {log_level!r})"
        )
    return Settings(
        database_url=_database_url(config.get("DATABASE_URL"), instance_path),
        base_url=_base_url(config.get("BASE_URL")),
        secret_key=secret_key,
        key_encryption_key=decode_key_encryption_key(kek_value),
        lti_clock_leeway=_int(config, "LTI_CLOCK_LEEWAY", 0, 300),
        lti_max_launch_age=_int(config, "LTI_MAX_LAUNCH_AGE", 30, 3600),
        lti_login_ttl=_int(config, "LTI_LOGIN_TTL", 30, 3600),
        lti_launch_ttl=_int(config, "LTI_LAUNCH_TTL", 60, 7 * 86400),
        jwks_refetch_interval=_int(config, "JWKS_REFETCH_INTERVAL", 0, 3600),
        jwks_default_max_age=_int(config, "JWKS_DEFAULT_MAX_AGE", 0, 86400),
        jwks_max_max_age=_int(config, "JWKS_MAX_MAX_AGE", 0, 7 * 86400),
        http_connect_timeout=_float(config, "HTTP_CONNECT_TIMEOUT", 0.1, 60),
        http_read_timeout=_float(config, "HTTP_READ_TIMEOUT", 0.1, 300),
        proxy_fix=ProxyFixSettings(
            x_for=_int(config, "PROXY_FIX_X_FOR", 0, 5),
            x_proto=_int(config, "PROXY_FIX_X_PROTO", 0, 5),
            x_host=_int(config, "PROXY_FIX_X_HOST", 0, 5),
            x_prefix=_int(config, "PROXY_FIX_X_PREFIX", 0, 5),
        ),
        log_level=log_level,
        testing=bool(config.get("TESTING", False)),
        xapi=XapiSettings(
            activity_base=_base_url(
                config.get("XAPI_ACTIVITY_BASE"), "XAPI_ACTIVITY_BASE"
            ),
            deliver_in_process=_bool(config, "XAPI_DELIVER_IN_PROCESS"),
            batch_size=_int(config, "XAPI_BATCH_SIZE", 1, 1000),
            poll_interval=_float(config, "XAPI_POLL_INTERVAL", 0.05, 3600),
            lease=_int(config, "XAPI_LEASE", 1, 86400),
            retry_base=_float(config, "XAPI_RETRY_BASE", 0.01, 3600),
            retry_cap=_float(config, "XAPI_RETRY_CAP", 0.01, 86400),
            give_up_after=_int(config, "XAPI_GIVE_UP_AFTER", 1, 30 * 86400),
            connect_timeout=_float(config, "XAPI_CONNECT_TIMEOUT", 0.1, 60),
            read_timeout=_float(config, "XAPI_READ_TIMEOUT", 0.1, 300),
        ),
        ags=AgsSettings(
            deliver_in_process=_bool(config, "AGS_DELIVER_IN_PROCESS"),
            poll_interval=_float(config, "AGS_POLL_INTERVAL", 0.05, 3600),
            lease=_int(config, "AGS_LEASE", 1, 86400),
            retry_base=_float(config, "AGS_RETRY_BASE", 0.01, 3600),
            retry_cap=_float(config, "AGS_RETRY_CAP", 0.01, 86400),
            give_up_after=_int(config, "AGS_GIVE_UP_AFTER", 1, 30 * 86400),
        ),
        evidence=EvidenceSettings(
            folder=str(
                Path(str(config.get("EVIDENCE_FOLDER") or ""))
                if config.get("EVIDENCE_FOLDER")
                else instance_path / "evidence"
            ),
            max_file_mb=_int(config, "EVIDENCE_MAX_FILE_MB", 1, 500),
        ),
        registration=RegistrationSettings(
            allow_loopback=_bool(config, "REGISTRATION_ALLOW_LOOPBACK"),
            max_pending=_int(config, "REGISTRATION_MAX_PENDING", 1, 1000),
        ),
        badges=BadgeSettings(
            issuer_name=_text(config, "BADGE_ISSUER_NAME", 200),
            verify_per_minute=_int(config, "BADGE_VERIFY_PER_MINUTE", 1, 10_000),
            verify_remote=_bool(config, "BADGE_VERIFY_REMOTE"),
        ),
    )
