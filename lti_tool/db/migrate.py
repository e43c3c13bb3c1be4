"""Run Alembic migrations programmatically (`tierpath db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """Build an Alembic config pointing at our migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database to `revision` (the newest by default)."""
    command.upgrade(alembic_config(database_url), revision)


def current(database_url: str) -> None:
    """Print the database's current revision."""
    command.current(alembic_config(database_url))
