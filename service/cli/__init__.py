"""Command-line interface: `flask --app wsgi <command>`. These forms are stable; tooling relies on them."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from .admin_cli import demo_command, worker_command
    from .attachments_cli import attachments_cli
    from .audit_cli import audit_cli
    from .cases_cli import cases_cli
    from .models_cli import models_cli
    from .screening_cli import screening_cli
    from .sync_cli import sync_command

    if "sync" not in models_cli.commands:
        models_cli.add_command(sync_command)
    app.cli.add_command(models_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(audit_cli)
    app.cli.add_command(cases_cli)
    app.cli.add_command(screening_cli)
    app.cli.add_command(attachments_cli)
