"""`tierpath people import FILE.csv` and `tierpath demo-data`: HR/KPI data in bulk."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import click
from flask import Flask
from flask.cli import with_appcontext

from lti_tool.runtime import runtime
from lti_tool.services.demo_data import generate_people_csv
from lti_tool.services.people_import import ImportReport, import_people_csv

SHOWN_ISSUES = 20
SHOWN_UNMATCHED = 10


def register_people_commands(app: Flask) -> None:
    """Attach the `people` group and the `demo-data` command to the app's CLI."""
    app.cli.add_command(people_group)
    app.cli.add_command(demo_data)


def echo_report(report: ImportReport) -> None:
    """Print an import report: counts, the first row issues, unmatched people."""
    for issue in report.file_issues:
        click.echo(f"file refused, nothing written: {issue.describe()}", err=True)
    if report.file_issues:
        return
    click.echo(
        f"rows: {report.rows}\n"
        f"people: {report.people_created} created, {report.people_updated} updated,"
        f" {report.people_unchanged} unchanged\n"
        f"KPI values: {report.kpi_values_written} written,"
        f" {report.kpi_values_unchanged} unchanged\n"
        f"LMS users linked now: {report.linked_users}"
    )
    if report.rejected_rows:
        click.echo(
            f"rejected rows: {report.rejected_row_count}"
            f" ({len(report.rejected_rows)} problems)",
            err=True,
        )
        for issue in report.rejected_rows[:SHOWN_ISSUES]:
            click.echo(f"  {issue.describe()}", err=True)
        hidden = len(report.rejected_rows) - SHOWN_ISSUES
        if hidden > 0:
            click.echo(f"  … and {hidden} more problems", err=True)
    if report.unmatched_total:
        first = ", ".join(report.unmatched[:SHOWN_UNMATCHED])
        more = " …" if report.unmatched_total > SHOWN_UNMATCHED else ""
        click.echo(
            f"people without a linked LMS user yet: {report.unmatched_total}"
            f" ({first}{more})"
        )


def _import(data: bytes | IO[bytes], *, show_progress: bool) -> ImportReport:
    rt = runtime()
    with rt.session_factory() as session:
        if show_progress:
            with click.progressbar(length=1, label="importing", file=sys.stderr) as bar:

                def progress(done: int, total: int) -> None:
                    bar.length = max(total, 1)
                    bar.update(done - bar.pos)

                report = import_people_csv(
                    session, data, rt.clock(), on_progress=progress
                )
        else:
            report = import_people_csv(session, data, rt.clock())
        if report.file_issues:
            session.rollback()
        else:
            session.commit()
    return report


@click.group("people", help="People (HR facts) and their KPI values.")
def people_group() -> None:
    pass


@people_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (default: when stderr is a terminal).",
)
@with_appcontext
def people_import(file: Path, progress: bool | None) -> None:
    """Import a people/KPI CSV (docs/people-import.md); exit 1 if anything was refused."""
    show = sys.stderr.isatty() if progress is None else progress
    with file.open("rb") as handle:
        report = _import(handle, show_progress=show)
    echo_report(report)
    if not report.ok:
        click.get_current_context().exit(1)


@click.command("demo-data")
@click.option(
    "--people",
    "count",
    type=click.IntRange(min=0),
    required=True,
    help="How many synthetic people (the four demo users come on top).",
)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the CSV here instead of importing it (use --import too for both).",
)
@click.option(
    "--import/--no-import",
    "do_import",
    default=None,
    help="Import into the database (default: yes, unless --out is given).",
)
@with_appcontext
def demo_data(count: int, seed: int, out: Path | None, do_import: bool | None) -> None:
    """Generate a synthetic contact-centre population and write and/or import it."""
    today = runtime().clock().date()
    text = generate_people_csv(count, seed=seed, today=today)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {text.count(chr(10)) - 1} rows to {out}")
    if do_import or (do_import is None and out is None):
        report = _import(text.encode("utf-8"), show_progress=sys.stderr.isatty())
        echo_report(report)
        if not report.ok:
            click.get_current_context().exit(1)
