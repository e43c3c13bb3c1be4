"""The `tierpath` command: Flask's CLI plus db, platform and keys commands."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from lti_tool.runtime import runtime
from lti_tool.services import keys as key_service
from lti_tool.services import platforms as platform_service
from lti_tool.settings import ConfigError


def register_commands(app: Flask) -> None:
    """Attach tierpath's command groups to the app's CLI."""
    app.cli.add_command(db_group)
    app.cli.add_command(platform_group)
    app.cli.add_command(keys_group)
    app.cli.add_command(program_group)
    from lti_tool.cli_people import register_people_commands

    register_people_commands(app)
    from lti_tool.cli_eligibility import register_eligibility_commands

    register_eligibility_commands(app)
    from lti_tool.cli_xapi import register_xapi_commands

    register_xapi_commands(app)
    from lti_tool.cli_ags import register_ags_commands

    register_ags_commands(app)
    from lti_tool.cli_badges import register_badge_commands

    register_badge_commands(app)


@click.group("db", help="Database schema (Alembic migrations).")
def db_group() -> None:
    pass


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the database to the newest schema."""
    from lti_tool.db.migrate import upgrade

    url = runtime().settings.database_url
    upgrade(url, revision)
    click.echo(f"database at {runtime().engine.url.render_as_string()} is up to date")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Show the database's schema revision."""
    from lti_tool.db.migrate import current

    current(runtime().settings.database_url)


@click.group("platform", help="LMS platform registrations.")
def platform_group() -> None:
    pass


@platform_group.command("add")
@click.option("--issuer", required=True, help="The platform's issuer (iss).")
@click.option("--client-id", required=True, help="tierpath's client id on it.")
@click.option(
    "--deployment-id",
    "deployment_ids",
    required=True,
    multiple=True,
    help="A deployment id; repeat for several.",
)
@click.option("--auth-login-url", required=True, help="OIDC authorization endpoint.")
@click.option("--token-url", required=True, help="OAuth 2 token endpoint.")
@click.option("--jwks-url", required=True, help="The platform's public key set.")
@click.option(
    "--audience", default=None, help="Token endpoint audience, if not its URL."
)
@click.option("--name", default="", help="A display name.")
@click.option(
    "--if-missing",
    is_flag=True,
    help="Succeed quietly if it exists (new deployment ids are added).",
)
@with_appcontext
def platform_add(
    issuer: str,
    client_id: str,
    deployment_ids: tuple[str, ...],
    auth_login_url: str,
    token_url: str,
    jwks_url: str,
    audience: str | None,
    name: str,
    if_missing: bool,
) -> None:
    """Register an LMS platform and its deployment ids."""
    rt = runtime()
    with rt.session_factory() as session:
        try:
            platform, created = platform_service.add_platform(
                session,
                platform_service.PlatformInput(
                    issuer=issuer,
                    client_id=client_id,
                    deployment_ids=deployment_ids,
                    auth_login_url=auth_login_url,
                    token_url=token_url,
                    jwks_url=jwks_url,
                    audience=audience,
                    name=name,
                ),
                rt.clock(),
                if_missing=if_missing,
            )
        except platform_service.RegistrationError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
        verb = "registered" if created else "already registered"
        click.echo(
            f"{verb}: #{platform.id} {platform.issuer} client_id={platform.client_id}"
            f" deployments={','.join(d.deployment_id for d in platform.deployments)}"
        )


@platform_group.command("list")
@with_appcontext
def platform_list() -> None:
    """List registered platforms (PENDING ones wait for `platform approve`)."""
    with runtime().session_factory() as session:
        platforms = platform_service.list_platforms(session)
        if not platforms:
            click.echo("no platforms registered (add one with `tierpath platform add`)")
        for p in platforms:
            status = "approved" if p.approved_at is not None else "PENDING"
            click.echo(
                f"#{p.id}\t{status}\t{p.issuer}\tclient_id={p.client_id}\t"
                f"deployments={','.join(d.deployment_id for d in p.deployments)}\t"
                f"login={p.auth_login_url}\ttoken={p.token_url}\tjwks={p.jwks_url}"
            )


@platform_group.command("approve")
@click.argument("platform_id", type=int)
@with_appcontext
def platform_approve(platform_id: int) -> None:
    """Approve a registration that waits for approval (Dynamic Registration)."""
    rt = runtime()
    with rt.session_factory() as session:
        try:
            platform = platform_service.approve_platform(
                session, platform_id, rt.clock()
            )
        except platform_service.RegistrationError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
        click.echo(
            f"approved: #{platform.id} {platform.issuer}"
            f" client_id={platform.client_id}"
            f" deployments={','.join(d.deployment_id for d in platform.deployments)}"
        )


@platform_group.command("remove")
@click.argument("platform_id", type=int, required=False)
@click.option("--issuer", default=None)
@click.option("--client-id", default=None)
@with_appcontext
def platform_remove(
    platform_id: int | None, issuer: str | None, client_id: str | None
) -> None:
    """Remove a platform by id, or by --issuer and --client-id."""
    with runtime().session_factory() as session:
        if platform_id is None:
            if not (issuer and client_id):
                raise click.UsageError(
                    "give a platform id, or --issuer and --client-id"
                )
            found = platform_service.find_platform(session, issuer, client_id)
            if found is None:
                raise click.ClickException(f"{issuer} / {client_id} is not registered")
            platform_id = found.id
        try:
            removed = platform_service.remove_platform(session, platform_id)
        except platform_service.RegistrationError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
        click.echo(
            f"removed #{platform_id} {removed.issuer} client_id={removed.client_id}"
        )


@click.group("keys", help="The tool's signing keys.")
def keys_group() -> None:
    pass


@keys_group.command("ensure")
@with_appcontext
def keys_ensure() -> None:
    """Create the LTI keys (current, next) and the badge keys if missing."""
    from lti_tool.services.badge_keys import ensure_badge_key, ensure_ob2_key

    rt = runtime()
    with rt.session_factory() as session:
        created = key_service.ensure_keys(session, rt.encryptor, rt.clock())
        created = ensure_badge_key(session, rt.encryptor, rt.clock()) or created
        created = ensure_ob2_key(session, rt.encryptor, rt.clock()) or created
        session.commit()
    click.echo("keys created" if created else "keys already present")


@keys_group.command("rotate")
@click.option(
    "--badges",
    is_flag=True,
    help="Rotate the badge signing key instead (earlier badges keep verifying).",
)
@click.option(
    "--ob2",
    is_flag=True,
    help="Replace the Open Badges 2.0 key instead (2.0 files downloaded before"
    " stop verifying; new downloads are signed with the new key).",
)
@with_appcontext
def keys_rotate(badges: bool, ob2: bool) -> None:
    """Promote the next LTI key to current and publish a new next key.

    With --badges: make a new Ed25519 badge key; every earlier badge key stays
    in /.well-known/did.json so badges signed with it still verify.
    With --ob2: replace the RSA key of the Open Badges 2.0 assertions (a 2.0
    issuer names one key, so there is no soft rotation).
    """
    rt = runtime()
    if badges and ob2:
        raise click.UsageError("choose --badges or --ob2, not both")
    if ob2:
        from lti_tool.services.badge_keys import rotate_ob2_key

        with rt.session_factory() as session:
            fresh_kid = rotate_ob2_key(session, rt.encryptor, rt.clock())
            session.commit()
        click.echo(f"current Open Badges 2.0 key: {fresh_kid}")
        return
    if badges:
        from lti_tool.services.badge_keys import rotate_badge_key

        with rt.session_factory() as session:
            fresh, earlier = rotate_badge_key(session, rt.encryptor, rt.clock())
            session.commit()
        click.echo(f"current badge key: {fresh}")
        if earlier:
            click.echo(f"still published:   {', '.join(earlier)}")
        return
    with rt.session_factory() as session:
        current, upcoming = key_service.rotate_keys(session, rt.encryptor, rt.clock())
        session.commit()
    click.echo(f"current key: {current}\nnext key:    {upcoming}")


@keys_group.command("list")
@with_appcontext
def keys_list() -> None:
    """List the tool's keys (public parts only): LTI, then badge keys."""
    from lti_tool.services.badge_keys import badge_keys

    with runtime().session_factory() as session:
        for key in key_service.list_keys(session):
            click.echo(
                f"{key.kid}\t{key.state}\tcreated {key.created_at:%Y-%m-%d %H:%M}"
            )
        for key in badge_keys(session):
            click.echo(
                f"badge {key.kid}\t{key.state}\tcreated {key.created_at:%Y-%m-%d %H:%M}"
            )


@click.group(
    "program", help="Program definitions (TOML files, see docs/program-format.md)."
)
def program_group() -> None:
    pass


@program_group.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def program_validate(files: tuple[str, ...]) -> None:
    """Check program files and print every problem (no database needed)."""
    from lti_tool.programs.loader import ProgramFileError, load_program_file

    failed = False
    for name in files:
        try:
            loaded = load_program_file(name)
        except ProgramFileError as exc:
            failed = True
            for issue in exc.issues:
                click.echo(str(issue), err=True)
            continue
        except OSError as exc:
            failed = True
            click.echo(f"{name}: cannot read: {exc.strerror}", err=True)
            continue
        program = loaded.program
        items = sum(
            len(f.item_ids)
            for t in program.tiers
            for m in t.modules
            for f in (*m.pre_test.forms, *m.post_test.forms)
        )
        click.echo(
            f"{name}: ok: {program.title} {program.version}: {len(program.tiers)} tiers,"
            f" {sum(len(t.modules) for t in program.tiers)} modules,"
            f" {len(program.items)} items ({items} on forms), {program.hours:g} hours"
        )
    if failed:
        sys.exit(1)


@program_group.command("load")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@with_appcontext
def program_load(files: tuple[str, ...]) -> None:
    """Validate and store program files as new versions (unchanged files are skipped)."""
    from lti_tool.programs.loader import ProgramFileError
    from lti_tool.services.programs import ProgramVersionError, load_program

    rt = runtime()
    failed = False
    for name in files:
        with rt.session_factory() as session:
            try:
                result = load_program(session, name, rt.clock())
            except ProgramFileError as exc:
                failed = True
                for issue in exc.issues:
                    click.echo(str(issue), err=True)
                continue
            except (ProgramVersionError, OSError) as exc:
                failed = True
                click.echo(str(exc), err=True)
                continue
            session.commit()
            version = result.version
            verb = "loaded" if result.created else "unchanged"
            click.echo(
                f"{verb}: {version.program_id} {version.version} ({version.title})"
            )
    if failed:
        sys.exit(1)


@program_group.command("list")
@with_appcontext
def program_list() -> None:
    """List stored program versions (* = current)."""
    from lti_tool.services.programs import all_versions

    with runtime().session_factory() as session:
        versions = all_versions(session)
        if not versions:
            click.echo(
                "no programs loaded (load one with `tierpath program load FILE`)"
            )
        for v in versions:
            mark = "*" if v.is_current else " "
            click.echo(
                f"{mark} {v.program_id}\t{v.version}\t{v.title}\t"
                f"loaded {v.loaded_at:%Y-%m-%d %H:%M}\t{v.content_hash[:12]}"
            )


def _create_app() -> Flask:
    from lti_tool.app import create_app

    return create_app()


cli = FlaskGroup(
    name="tierpath",
    create_app=_create_app,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
    help="tierpath: LTI 1.3 career-path tool.",
)


def main() -> None:
    """Run the tierpath command line."""
    try:
        cli.main(prog_name="tierpath")
    except ConfigError as exc:
        click.echo(f"tierpath: configuration error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":  # python -m lti_tool.cli (what `tierpath` runs)
    main()
