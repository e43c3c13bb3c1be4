"""`tierpath eligibility evaluate`: decide every tier of every program for everyone."""

from __future__ import annotations

from datetime import datetime

import click
from flask import Flask
from flask.cli import with_appcontext

from lti_tool.runtime import runtime
from lti_tool.services.eligibility_batch import EvaluationReport, evaluate_everyone
from lti_tool.services.programs import current_versions


def register_eligibility_commands(app: Flask) -> None:
    """Attach the `eligibility` group to the app's CLI."""
    app.cli.add_command(eligibility_group)


def echo_evaluation(report: EvaluationReport) -> None:
    """Print a batch evaluation: counts per tier, writes and phase timings."""
    click.echo(
        f"as of {report.as_of.isoformat()}: {report.people} people,"
        f" {report.decisions} decisions"
    )
    for tier in report.tiers:
        click.echo(
            f"  {tier.program_id} {tier.program_version} {tier.tier_id}:"
            f" {tier.eligible} eligible of {tier.decisions}"
        )
    if report.stored:
        click.echo(
            f"stored: {report.inserted} new, {report.updated} changed,"
            f" {report.unchanged} unchanged"
        )
    else:
        click.echo("not stored (--no-store)")
    click.echo(
        "timings: "
        + ", ".join(
            f"{phase} {seconds:.2f} s" for phase, seconds in report.timings.items()
        )
    )


@click.group("eligibility", help="Eligibility decisions for everyone.")
def eligibility_group() -> None:
    pass


@eligibility_group.command("evaluate")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Decide as of this day (default: today, by the tool's clock).",
)
@click.option(
    "--store/--no-store",
    default=True,
    show_default=True,
    help="Store the decisions (new and changed ones) and publish their events.",
)
@with_appcontext
def evaluate(as_of: datetime | None, store: bool) -> None:
    """Evaluate every tier of every current program for every person."""
    rt = runtime()
    now = rt.clock()
    with rt.session_factory() as session:
        report = evaluate_everyone(
            session,
            current_versions(session),
            as_of.date() if as_of is not None else now.date(),
            now,
            rt.events,
            store=store,
        )
        if store:
            session.commit()
    echo_evaluation(report)
