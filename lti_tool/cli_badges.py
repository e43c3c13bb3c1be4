"""`tierpath badge verify FILE|URL [--email …]`: check an Open Badge from the shell.

Exit status: 0 verified, 1 not verified (or not fully checkable), 2 for
usage and input/output errors (no such file, unreadable input, a URL that
cannot be fetched).
"""

from __future__ import annotations

import re
import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from lti_tool.runtime import runtime
from lti_tool.services.badge_verify import (
    MAX_IMAGE_BYTES,
    Outcome,
    Report,
    UnreadableBadgeError,
    inspect,
)

_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_LABELS = {
    Outcome.PASSED: "passed",
    Outcome.FAILED: "FAILED",
    Outcome.NOT_CHECKED: "not checked",
}


class InputError(click.ClickException):
    """An input or output problem: exit status 2, like a usage error."""

    exit_code = 2


@click.group("badge", help="Open Badges issued by tierpath or anyone else.")
def badge_group() -> None:
    pass


def _read_source(source: str) -> bytes:
    """Read a file (or stdin for "-"), at most the image size limit plus one byte."""
    try:
        if source == "-":
            return sys.stdin.buffer.read(MAX_IMAGE_BYTES + 1)
        with open(source, "rb") as handle:
            return handle.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror or exc}") from exc


def _print(report: Report) -> None:
    if report.achievement_name:
        issuer = report.issuer_name or report.issuer_id or "an unnamed issuer"
        click.echo(f"{report.achievement_name}, issued by {issuer}")
    for check in report.checks:
        click.echo(f"[{_LABELS[check.outcome]}] {check.title}: {check.text}")
    click.echo(report.summary)


@badge_group.command("verify")
@click.argument("source", metavar="FILE|URL")
@click.option(
    "--email",
    default=None,
    help="The candidate's email: checks that the badge names them.",
)
@click.option(
    "--offline",
    is_flag=True,
    help="Do not fetch anything from other sites (this deployment's badges only).",
)
@with_appcontext
def badge_verify(source: str, email: str | None, offline: bool) -> None:
    """Verify a credential: a JSON file, a baked PNG/SVG, or a credential URL.

    Badges of this deployment are checked against its own database; others
    are fetched from the issuer's site (public https only).
    """
    from lti_tool.web.verify import verification_lookup

    data: bytes | str = source if _URL.fullmatch(source) else _read_source(source)
    rt = runtime()
    with rt.session_factory() as session:
        lookup = verification_lookup(current_app, session, remote=not offline)
        try:
            report = inspect(
                data,
                lookup=lookup,
                now=rt.clock(),
                email=email,
                source="the web address" if isinstance(data, str) else source,
            )
        except UnreadableBadgeError as exc:
            raise InputError(str(exc)) from exc
        finally:
            session.rollback()  # verifying changes nothing (a re-signed list is not kept)
    _print(report)
    click.get_current_context().exit(0 if report.verified else 1)


@badge_group.command("list")
@click.option("--email", default=None, help="Only the badges of this person.")
@with_appcontext
def badge_list(email: str | None) -> None:
    """List issued badges: id, holder, badge, issued, status."""
    import sqlalchemy as sa

    from lti_tool.db.models import BadgeCredential, Person

    query = (
        sa.select(BadgeCredential, Person)
        .join(Person, Person.id == BadgeCredential.person_id)
        .order_by(BadgeCredential.issued_at, BadgeCredential.id)
    )
    if email:
        query = query.where(sa.func.lower(Person.email) == email.strip().lower())
    with runtime().session_factory() as session:
        for credential, person in session.execute(query):
            status = (
                f"revoked {credential.revoked_at:%Y-%m-%d}: {credential.revoked_reason}"
                if credential.revoked_at
                else "valid"
            )
            click.echo(
                f"{credential.id}\t{person.email or person.employee_id}\t"
                f"{credential.document.get('name', '')}\t"
                f"{credential.issued_at:%Y-%m-%d}\t{status}"
            )


@badge_group.command("revoke")
@click.argument("credential_id")
@click.option(
    "--reason", required=True, help="Shown on the public page and to verifiers."
)
@with_appcontext
def badge_revoke(credential_id: str, reason: str) -> None:
    """Revoke a badge; its status list says so from the next request on."""
    from lti_tool.services.badges import revoke_badge

    if not reason.strip():
        raise click.UsageError("give a reason: the holder and verifiers see it")
    rt = runtime()
    with rt.session_factory() as session:
        try:
            credential = revoke_badge(
                session, credential_id, reason, rt.clock(), revoked_by="tierpath CLI"
            )
        except LookupError:
            raise InputError(f"no badge {credential_id}") from None
        session.commit()
        click.echo(
            f"revoked {credential.id} on {credential.revoked_at:%Y-%m-%d %H:%M}:"
            f" {credential.revoked_reason}"
        )


def register_badge_commands(app: Flask) -> None:
    app.cli.add_command(badge_group)
