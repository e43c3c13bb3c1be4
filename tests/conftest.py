"""Shared fixtures: one migrated database per run, a fresh app and clock per test."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings

from lti_tool.app import create_app
from lti_tool.db.base import Model
from lti_tool.db.migrate import upgrade
from lti_tool.db.models import BadgeCredential
from lti_tool.settings import new_key_encryption_key
from tests.support.platform import SimulatedPlatform

TOOL_ORIGIN = "https://tool.test"

# In CI the property tests replay the same examples (a red build is then
# reproducible, not luck) and never fail on a slow machine's timing; locally
# they keep exploring new examples.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate one database for the run: SQLite by default, PostgreSQL if configured."""
    configured = os.environ.get("TIERPATH_DATABASE_URL", "")
    if configured.startswith("postgresql"):
        name = f"tierpath_t_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(configured, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = (
            sa.make_url(configured)
            .set(database=name)
            .render_as_string(hide_password=False)
        )
        upgrade(url)
        yield url
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("db") / "tierpath.sqlite3"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table after a test that used the database."""
    engine = (
        request.getfixturevalue("engine")
        if "database_url" in request.fixturenames
        else None
    )
    yield
    if engine is None:
        return
    with engine.begin() as conn:
        for table in reversed(Model.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


def make_test_config(
    database_url: str, instance: Path, clock: FakeClock | None = None, **extra: object
) -> dict[str, object]:
    config: dict[str, object] = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": secrets.token_urlsafe(40),
        "KEY_ENCRYPTION_KEY": new_key_encryption_key(),
        "BASE_URL": TOOL_ORIGIN,
    }
    if clock is not None:
        config["CLOCK"] = clock
    config.update(extra)
    return config


@pytest.fixture
def make_app(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> Iterator[type[Flask] | object]:
    """Factory: build an app on the test database with overrides."""
    apps: list[Flask] = []

    def _make(**extra: object) -> Flask:
        app = create_app(
            make_test_config(database_url, tmp_path / "instance", clock, **extra)
        )
        apps.append(app)
        return app

    yield _make
    for app in apps:
        app.extensions["tierpath"].engine.dispose()


@pytest.fixture
def app(make_app) -> Flask:  # type: ignore[no-untyped-def]
    return make_app()  # type: ignore[no-any-return]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    test_client = app.test_client()
    test_client.environ_base.update(
        {"wsgi.url_scheme": "https", "HTTP_HOST": TOOL_ORIGIN.split("//")[1]}
    )
    return test_client


@pytest.fixture
def platform(app: Flask) -> SimulatedPlatform:
    """A simulated platform registered with the tool."""
    simulated = SimulatedPlatform(tool_origin=TOOL_ORIGIN)
    simulated.install(app)
    return simulated


@pytest.fixture
def earned(
    app: Flask,
    client: FlaskClient,
    platform: SimulatedPlatform,
    clock: FakeClock,
    tmp_path: Path,
) -> BadgeCredential:
    """A badge issued the real way: Ana completes tier one of the small program."""
    from tests.support.badges import credentials
    from tests.support.learner import work_through_tier_one

    work_through_tier_one(app, client, platform, clock, tmp_path)
    (credential,) = credentials(app)
    return credential
