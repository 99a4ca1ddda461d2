"""`flask --app wsgi demo` and `flask --app wsgi worker [--once]`."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("demo")
@click.option("--no-cases", is_flag=True, help="Seed organizations, users and the program only.")
@click.option("--quiet", is_flag=True, help="Do not print the accounts.")
@with_appcontext
def demo_command(no_cases: bool, quiet: bool) -> None:
    """Seed the demo data (idempotent) and print the demo accounts."""
    from ..demo import guide, seed_demo

    svc = current_app.extensions["tejun"]
    accounts = seed_demo(svc, with_cases=not no_cases)
    if quiet:
        return
    click.echo("Demo accounts (username / password / role @ organization):")
    for account in accounts:
        click.echo(f"  {account.username:<18} {account.password:<22} {account.role} @ {account.organization}")
    click.echo("")
    for line in guide(svc, accounts):  # which account for which kind of user, which case at which stage
        click.echo(line)


@click.command("worker")
@click.option("--once", is_flag=True, help="One round of everything (timers, notifications, daily anchor, "
              "throttle purge, migration jobs), then exit: for cron.")
@click.option("--interval", type=float, default=None, help="Seconds between rounds (default TEJUN_WORKER_INTERVAL).")
@with_appcontext
def worker_command(once: bool, interval: float | None) -> None:
    """Fire due timers: run it beside the web processes (any number of workers may run)."""
    from ..worker.timers import run_forever, run_round

    svc = current_app.extensions["tejun"]
    if once:
        processed, migrated = run_round(svc)
        click.echo(f"processed {len(processed)} case(s), migrated {migrated} case(s)", err=True)
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_forever(svc, interval or svc.settings.worker_interval, stop)
