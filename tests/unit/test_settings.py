"""Startup refuses bad configuration with a message that names the variable."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from lti_tool.app import create_app
from lti_tool.settings import ConfigError, load_settings, new_key_encryption_key

# The committed defaults: every key the settings read, with its shipped value.
BASE = tomllib.loads(
    (Path(__file__).resolve().parents[2] / "config" / "defaults.toml").read_text()
)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            {"XAPI_BATCH_SIZE": 0},
            "TIERPATH_XAPI_BATCH_SIZE must be between 1 and 1000",
        ),
        (
            {"XAPI_DELIVER_IN_PROCESS": "sometimes"},
            "TIERPATH_XAPI_DELIVER_IN_PROCESS must be true or false",
        ),
        (
            {"XAPI_ACTIVITY_BASE": "https://tierpath.example.com/x"},
            "TIERPATH_XAPI_ACTIVITY_BASE must be an origin only",
        ),
        (
            {"LTI_CLOCK_LEEWAY": "soon"},
            "TIERPATH_LTI_CLOCK_LEEWAY must be a whole number",
        ),
        (
            {"LTI_CLOCK_LEEWAY": 9999},
            "TIERPATH_LTI_CLOCK_LEEWAY must be between 0 and 300",
        ),
        ({"HTTP_READ_TIMEOUT": "x"}, "TIERPATH_HTTP_READ_TIMEOUT must be a number"),
        ({"BASE_URL": "tool.example.com"}, "TIERPATH_BASE_URL must look like"),
        ({"BASE_URL": "https://tool.example.com/app"}, "must be an origin only"),
        ({"DATABASE_URL": "postgres://u@h/db"}, "write postgresql+psycopg://"),
        (
            {"DATABASE_URL": "not a url"},
            "TIERPATH_DATABASE_URL must be an SQLAlchemy URL",
        ),
        ({"KEY_ENCRYPTION_KEY": "too-short"}, "TIERPATH_KEY_ENCRYPTION_KEY must be 32"),
        ({"SECRET_KEY": "short"}, "TIERPATH_SECRET_KEY must be at least 32"),
        ({"LOG_LEVEL": "LOUD"}, "TIERPATH_LOG_LEVEL must be"),
    ],
)
def test_bad_value_is_refused_naming_the_variable(
    tmp_path: Path, override: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("+", r"\+")):
        load_settings({**BASE, **override}, tmp_path)


def test_embedded_default_generates_secrets_once_with_private_permissions(
    tmp_path: Path,
) -> None:
    first = load_settings(BASE, tmp_path)
    second = load_settings(BASE, tmp_path)
    assert first.key_encryption_key == second.key_encryption_key
    assert first.secret_key == second.secret_key
    assert (tmp_path / "key-encryption.key").stat().st_mode & 0o777 == 0o600
    assert first.database_url == f"sqlite:///{tmp_path / 'tierpath.sqlite3'}"


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(BASE, tmp_path)
    with pytest.raises(AttributeError):
        settings.lti_clock_leeway = 5  # type: ignore[misc]


def test_environment_overrides_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERPATH_LTI_CLOCK_LEEWAY", "30")
    monkeypatch.setenv("TIERPATH_KEY_ENCRYPTION_KEY", new_key_encryption_key())
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://"})
    assert app.extensions["tierpath"].settings.lti_clock_leeway == 30


def test_create_app_fails_fast_on_bad_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERPATH_LTI_MAX_LAUNCH_AGE", "forever")
    with pytest.raises(ConfigError, match="TIERPATH_LTI_MAX_LAUNCH_AGE"):
        create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://"})
