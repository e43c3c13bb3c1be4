"""`tierpath xapi deliver`: drain the outbox to every connected LRS."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from lti_tool.background import run_until_signalled
from lti_tool.cli_xapi import xapi_group
from lti_tool.runtime import runtime


@xapi_group.command("deliver")
@click.option("--once", is_flag=True, help="Send everything due, then exit (for cron).")
@click.option(
    "--worker-id",
    default=None,
    help="Name for this worker's leases (default host:pid).",
)
@with_appcontext
def xapi_deliver(once: bool, worker_id: str | None) -> None:
    """Deliver recorded statements to the connected LRSs (a worker; --once for cron).

    Safe to run several at once on PostgreSQL; run one on SQLite. SIGTERM or
    Ctrl-C stops after the batch in flight.
    """
    from lti_tool.xapi_delivery import build_deliverer

    rt = runtime()
    deliverer = build_deliverer(rt, worker=worker_id)
    if once:
        report = deliverer.run_once()
        click.echo(report.summary())
        return
    click.echo("delivering xAPI statements; Ctrl-C to stop")
    run_until_signalled(deliverer, rt.settings.xapi.poll_interval)
    click.echo("stopped")
