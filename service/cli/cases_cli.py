"""`flask --app wsgi cases ...`: what operators do to cases from the shell.

    flask --app wsgi cases errors       list the cases in error (id, reference, why)
    flask --app wsgi cases retry ID     restart a case in error after its cause was fixed (event `case_retried`)

Exit status 0 when done, 1 when the use case refused (the message says why).
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

cases_cli = AppGroup("cases", help="Operate on cases: list those in error, restart one.")


@cases_cli.command("errors")
def errors_command() -> None:
    """List the cases in error, latest first: id, reference, process, why."""
    from ..auth.actor import SYSTEM
    from ..cases import queries

    rows = queries.cases_in_error_for(current_app.extensions["tejun"], SYSTEM)
    for row in rows:
        click.echo(f"{row.id}\t{row.reference}\t{row.process_id}\t{row.error_message or ''}")


@cases_cli.command("retry")
@click.argument("case_id", type=int)
def retry_command(case_id: int) -> None:
    """Restart a case in error (after fixing its model or data): the engine tries the failed step again."""
    from ..auth.actor import SYSTEM
    from ..cases.commands import retry_case
    from ..errors import TejunError

    try:
        outcome = retry_case(current_app.extensions["tejun"], SYSTEM, case_id)
    except TejunError as exc:
        click.echo(f"case {case_id}: nothing was changed: {exc.detail}", err=True)
        sys.exit(1)
    if outcome.status == "error":
        click.echo(f"case {case_id} was restarted but stopped again: {outcome.error_message}", err=True)
        sys.exit(1)
    click.echo(f"case {case_id} restarted: {outcome.status}")
