"""`tierpath xapi client add|list|revoke`: credentials for the statement read API."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import with_appcontext

from lti_tool.cli_xapi import xapi_group
from lti_tool.runtime import runtime
from lti_tool.services import xapi_clients


@xapi_group.group(
    "client", help="Clients allowed to read statements (GET /xapi/statements)."
)
def client_group() -> None:
    """Group for read-API client commands."""


def _when(moment: datetime | None, never: str) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else never


@client_group.command("add")
@click.argument("name")
@with_appcontext
def client_add(name: str) -> None:
    """Create a client and print its key and secret (the secret only this once)."""
    rt = runtime()
    with rt.session_factory() as session:
        try:
            created = xapi_clients.create_client(session, name, rt.clock())
        except xapi_clients.ClientError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
    click.echo(f"client added: {created.client.name}")
    click.echo(f"key:    {created.client.key}")
    click.echo(f"secret: {created.secret}")
    click.echo(
        "Copy the secret now: tierpath keeps only a hash of it and cannot show it"
        " again. The client sends key and secret as HTTP Basic credentials with"
        " each request (and the header X-Experience-API-Version: 1.0.3)."
    )


@client_group.command("list")
@with_appcontext
def client_list() -> None:
    """Show each client: name, key, created, last used and whether it is revoked."""
    with runtime().session_factory() as session:
        clients = xapi_clients.list_clients(session)
    if not clients:
        click.echo("no read clients (add one with `tierpath xapi client add NAME`)")
        return
    click.echo("name\tkey\tcreated\tlast used\tstatus")
    for c in clients:
        status = f"revoked {_when(c.revoked_at, '')}" if c.revoked_at else "active"
        click.echo(
            f"{c.name}\t{c.key}\t{_when(c.created_at, '-')}"
            f"\t{_when(c.last_used_at, 'never')}\t{status}"
        )


@client_group.command("revoke")
@click.argument("name")
@with_appcontext
def client_revoke(name: str) -> None:
    """Revoke a client: its key and secret stop working at once."""
    rt = runtime()
    with rt.session_factory() as session:
        try:
            client = xapi_clients.revoke_client(session, name, rt.clock())
        except xapi_clients.ClientError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
    click.echo(f"revoked: {client.name} (since {_when(client.revoked_at, '')})")
