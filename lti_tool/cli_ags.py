"""`tierpath ags deliver|list|resend`: the gradebook score queue (LTI AGS)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from lti_tool.background import run_until_signalled
from lti_tool.runtime import runtime


@click.group(
    "ags", help="Scores for LMS gradebooks (LTI Assignment and Grade Services)."
)
def ags_group() -> None:
    pass


@ags_group.command("deliver")
@click.option("--once", is_flag=True, help="Post everything due, then exit (for cron).")
@click.option("--worker-id", default=None, help="Name for this worker's leases.")
@with_appcontext
def ags_deliver(once: bool, worker_id: str | None) -> None:
    """Post queued scores to the LMS gradebooks (a worker; --once for cron).

    A learner's scores go in the order they were recorded. Safe to run
    several at once on PostgreSQL; run one on SQLite.
    """
    from lti_tool.ags_delivery import ScorePoster

    rt = runtime()
    poster = ScorePoster(rt, tokens=rt.tokens, worker=worker_id)
    if once:
        click.echo(poster.run_once().summary())
        return
    click.echo("posting gradebook scores; Ctrl-C to stop")
    run_until_signalled(poster, rt.settings.ags.poll_interval)
    click.echo("stopped")


@ags_group.command("list")
@with_appcontext
def ags_list() -> None:
    """The queue per platform: pending, sent, dead, and the last error."""
    from lti_tool.services.score_passback import dead_scores, passback_statuses

    rt = runtime()
    with rt.session_factory() as session:
        statuses = passback_statuses(session)
        if not statuses:
            click.echo("no scores queued yet")
        for status in statuses:
            click.echo(
                f"{status.platform}: {status.pending} pending, {status.sent} sent,"
                f" {status.dead} dead"
                + (f"; last error: {status.last_error}" if status.last_error else "")
            )
        for row in dead_scores(session, 20):
            click.echo(
                f"  dead #{row.id} {row.source} for {row.user_sub}: {row.last_error}"
            )


@ags_group.command("resend")
@click.argument("score_id", required=False, type=int)
@with_appcontext
def ags_resend(score_id: int | None) -> None:
    """Queue dead scores again (one by id, or all)."""
    from lti_tool.services.score_passback import resend_dead

    rt = runtime()
    with rt.session_factory() as session:
        count = resend_dead(session, rt.clock(), score_id)
        session.commit()
    click.echo(f"{count} score{'s' if count != 1 else ''} queued again")


def register_ags_commands(app: Flask) -> None:
    app.cli.add_command(ags_group)
