"""`tierpath xapi …` and `tierpath lrs …`: statement delivery, LRS targets, read clients."""

from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import orm

from lti_tool.db.models import LrsTarget
from lti_tool.runtime import runtime
from lti_tool.services import xapi_outbox as outbox


@click.group("xapi", help="xAPI statements: delivery to LRSs and read-API clients.")
def xapi_group() -> None:
    """Group for xAPI commands."""


@click.group("lrs", help="External LRSs tierpath forwards statements to.")
def lrs_group() -> None:
    """Group for LRS target commands."""


def register_xapi_commands(app: Flask) -> None:
    """Attach the `xapi` and `lrs` groups to the app's CLI."""
    from lti_tool import (
        cli_xapi_clients,  # noqa: F401  (adds `xapi client …`)
        cli_xapi_deliver,  # noqa: F401  (adds `xapi deliver`)
    )

    app.cli.add_command(xapi_group)
    app.cli.add_command(lrs_group)


def _password(password_env: str | None) -> str:
    """The LRS secret: from a named environment variable, else a hidden prompt.

    Never a command-line argument: those end up in shell history and `ps`.
    """
    if password_env:
        value = os.environ.get(password_env, "")
        if not value:
            raise click.ClickException(
                f"the environment variable {password_env} is empty or not set"
            )
        return value
    value = click.prompt(
        "LRS secret (password)", hide_input=True, default="", show_default=False
    )
    if not isinstance(value, str) or not value:
        raise click.ClickException("the LRS secret (password) is required")
    return value


def _find(session: orm.Session, name: str) -> LrsTarget:
    try:
        return outbox.find_target(session, name)
    except outbox.TargetError as exc:
        raise click.ClickException(str(exc)) from exc


@lrs_group.command("add")
@click.argument("name")
@click.option(
    "--endpoint",
    required=True,
    help="The LRS xAPI endpoint, e.g. https://lrs.example.com/xapi/",
)
@click.option("--username", required=True, help="The LRS key (Basic auth username).")
@click.option(
    "--password-env",
    default=None,
    metavar="VAR",
    help="Read the secret from this environment variable (else you are prompted).",
)
@click.option(
    "--batch-size",
    default=100,
    show_default=True,
    type=int,
    help="Statements per POST.",
)
@click.option(
    "--history/--no-history",
    default=True,
    show_default=True,
    help="Also send every statement recorded before this LRS was connected.",
)
@click.option("--if-missing", is_flag=True, help="Succeed quietly if the name exists.")
@with_appcontext
def lrs_add(
    name: str,
    endpoint: str,
    username: str,
    password_env: str | None,
    batch_size: int,
    history: bool,
    if_missing: bool,
) -> None:
    """Connect an LRS: tierpath forwards every statement to it."""
    rt = runtime()
    with rt.session_factory() as session:
        if if_missing:
            try:
                existing = outbox.find_target(session, name)
            except outbox.TargetError:
                existing = None
            if existing is not None:
                click.echo(f"already connected: {existing.name} {existing.endpoint}")
                return
        try:
            target, queued = outbox.add_target(
                session,
                outbox.TargetInput(
                    name=name,
                    endpoint=endpoint,
                    username=username,
                    password=_password(password_env),
                    batch_size=batch_size,
                ),
                rt.encryptor,
                rt.clock(),
                history=history,
            )
        except outbox.TargetError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
        click.echo(
            f"connected: {target.name} {target.endpoint} ({queued} statements queued)"
        )


@lrs_group.command("list")
@with_appcontext
def lrs_list() -> None:
    """Show each LRS with its backlog, dead letters and last error."""
    rt = runtime()
    with rt.session_factory() as session:
        statuses = outbox.target_statuses(session, rt.clock())
        if not statuses:
            click.echo("no LRS connected (statements are kept in tierpath only)")
        for s in statuses:
            state = "PAUSED" if s.target.paused_at else "active"
            click.echo(
                f"{s.target.name}\t{s.target.endpoint}\t{state}\tpending={s.pending}"
                f"\tsent={s.sent}\tdead={s.dead}"
            )
            if s.target.paused_reason:
                click.echo(f"  paused: {s.target.paused_reason}")
            if s.target.last_error:
                click.echo(f"  last error: {s.target.last_error}")


@lrs_group.command("resume")
@click.argument("name")
@click.option(
    "--password-env",
    default=None,
    metavar="VAR",
    help="Set a new secret from this variable first.",
)
@with_appcontext
def lrs_resume(name: str, password_env: str | None) -> None:
    """Resume delivery to a paused LRS (after fixing its credentials)."""
    rt = runtime()
    with rt.session_factory() as session:
        try:
            target = outbox.find_target(session, name)
            if password_env:
                outbox.set_password(
                    session, target, _password(password_env), rt.encryptor
                )
        except outbox.TargetError as exc:
            raise click.ClickException(str(exc)) from exc
        outbox.resume_target(session, target)
        session.commit()
        click.echo(f"resumed: {name}")


@lrs_group.command("resend")
@click.argument("name")
@with_appcontext
def lrs_resend(name: str) -> None:
    """Queue an LRS's dead letters again."""
    rt = runtime()
    with rt.session_factory() as session:
        target = _find(session, name)
        count = outbox.resend_dead(session, rt.clock(), target_id=target.id)
        session.commit()
        click.echo(f"{count} dead letters queued again for {name}")


@lrs_group.command("remove")
@click.argument("name")
@with_appcontext
def lrs_remove(name: str) -> None:
    """Disconnect an LRS (its queue goes; recorded statements stay)."""
    rt = runtime()
    with rt.session_factory() as session:
        session.delete(_find(session, name))
        session.commit()
        click.echo(f"removed: {name}")
