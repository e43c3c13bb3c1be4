"""`tierpath xapi …` and `tierpath lrs …`: statement delivery, LRS targets, read clients."""

from __future__ import annotations

import click
from flask import Flask


@click.group("xapi", help="xAPI statements: delivery to LRSs and read-API clients.")
def xapi_group() -> None:
    """Group for xAPI commands."""


@click.group("lrs", help="External LRSs tierpath forwards statements to.")
def lrs_group() -> None:
    """Group for LRS target commands."""


def register_xapi_commands(app: Flask) -> None:
    """Attach the `xapi` and `lrs` groups to the app's CLI."""
    from lti_tool import cli_xapi_clients  # noqa: F401  (adds `xapi client …`)

    app.cli.add_command(xapi_group)
    app.cli.add_command(lrs_group)
