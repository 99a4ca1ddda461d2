"""`flask --app wsgi models ...`: commands for process designers. `models validate FILE...` checks model files.

Output is one line per problem, `FILE:ELEMENT_ID: message` (`-` when no element applies), on stdout; the
exit status is 1 when there is any problem. Warnings (an element a person reads named in one language only,
service/designer/names.py) go to stderr in the same form and do not change the exit status. Nothing here
needs the application or its database.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..engine.loader import Problem, one_line

models_cli = AppGroup("models", help="Check and manage BPMN, DMN and form models.")


@models_cli.command("validate", with_appcontext=False)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.pass_context
def validate_command(ctx: click.Context, files: tuple[str, ...]) -> None:
    """Validate BPMN, DMN and form files, each with the sibling files it needs."""
    try:
        from ..designer.validation import validate_paths

        problems = validate_paths(list(files))
    except Exception as exc:  # never a traceback: an unexpected failure is reported like a problem
        problems = [Problem(name, None, f"internal error: {type(exc).__name__}: {one_line(exc)}") for name in files]
    for problem in problems:
        click.echo(str(problem))
    try:
        from ..designer.names import path_warnings

        for warning in path_warnings(list(files)):
            click.echo(str(warning), err=True)
    except Exception as exc:  # warnings never stop a validation
        click.echo(f"-:-: warning: names not checked: {type(exc).__name__}: {one_line(exc)}", err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {len({p.file for p in problems})} file(s)", err=True)
        ctx.exit(1)
    click.echo(f"ok: {len(files)} file(s)", err=True)
