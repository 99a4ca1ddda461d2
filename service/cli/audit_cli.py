"""`flask --app wsgi audit ...`: verify the event log, make and export anchors, replay a case, export dossiers.

Exit status 0 when all is well, 1 when something is wrong (the first line on stdout names it), 2 for usage
errors (click's own).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

audit_cli = AppGroup("audit", help="Verify the tamper-evident event log, anchor it, replay and export cases.")


def _svc():
    return current_app.extensions["tejun"]


def _quiet_engine() -> None:
    """Replays run the engine many times: its step-by-step INFO lines would bury the answer."""
    import logging

    for name in ("spiff", "SpiffWorkflow"):
        logging.getLogger(name).setLevel(logging.WARNING)


@audit_cli.command("verify")
@click.option("--case", "case_id", type=int, default=None, help="Check only this case's stream.")
@click.option("--anchors", "anchors_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="An anchor export kept elsewhere (`audit anchor --export`): the database must agree with it.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--workers", type=int, default=None,
              help="Processes for a large log (default: one per CPU, from 1,000,000 events on).")
def verify_command(case_id: int | None, anchors_file: str | None, as_json: bool, workers: int | None) -> None:
    """Recompute every event hash; check seqs, links, stream heads and anchors. Exit 1 on the first problem."""
    from ..eventlog.anchors import read_export
    from ..eventlog.chain import case_stream
    from ..eventlog.verify import verify_log

    external = read_export(Path(anchors_file).read_text(encoding="utf-8")) if anchors_file else None
    report = verify_log(_svc(), stream=case_stream(case_id) if case_id is not None else None,
                        external_anchors=external, workers=workers)
    if as_json:
        click.echo(json.dumps({
            "ok": report.ok, "streams": report.streams, "events": report.events,
            "seconds": round(report.seconds, 3), "events_per_second": round(report.rate),
            "latest_anchor": report.anchor and {k: report.anchor[k] for k in ("seq", "created_at", "hash")},
            "problems": [vars(p) for p in report.problems],
        }, ensure_ascii=False))
    else:
        for problem in report.problems:
            click.echo(f"TAMPERED {problem}")
        anchor = report.anchor
        anchor_text = f"; latest anchor {anchor['seq']} of {anchor['created_at']}" if anchor else "; no anchor yet"
        summary = (f"{report.events} events in {report.streams} stream(s) checked in {report.seconds:.2f} s "
                   f"({report.rate:,.0f}/s){anchor_text}")
        if report.ok:
            click.echo(f"intact: {summary}")
        else:
            click.echo(f"{len(report.problems)} problem(s): {summary}", err=True)
    sys.exit(0 if report.ok else 1)


@audit_cli.command("anchor")
@click.option("--export", "export_file", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write every anchor to FILE (JSON lines) to keep outside tejun.")
@click.option("--no-new", is_flag=True, help="Do not make a new anchor (with --export: just export).")
def anchor_command(export_file: str | None, no_new: bool) -> None:
    """Record the head of every stream now, chained to the previous anchor."""
    from ..eventlog.anchors import AnchorRefused, anchors_of, create_anchor, export_lines

    svc = _svc()
    if not no_new:
        try:
            anchor = create_anchor(svc, "cli")
        except AnchorRefused as exc:
            click.echo(f"refused: {exc}")
            sys.exit(1)
        click.echo(f"anchor {anchor['seq']}: {anchor['stream_count']} streams, {anchor['event_count']} events, "
                   f"{len(anchor['changed'])} head(s) moved, hash {anchor['hash']}")
    if export_file:
        anchors = anchors_of(svc)
        text = "".join(line + "\n" for line in export_lines(anchors))
        Path(export_file).write_text(text, encoding="utf-8")
        click.echo(f"exported {len(anchors)} anchor(s) to {export_file}", err=True)


@audit_cli.command("replay")
@click.argument("case_id", type=int, required=False)
@click.option("--all", "every", is_flag=True, help="Replay every case (exit 1 when any differs).")
@click.option("--at", "at_seq", type=int, default=None,
              help="Print the case as it stood after event AT (JSON) instead of comparing.")
def replay_command(case_id: int | None, every: bool, at_seq: int | None) -> None:
    """Re-execute a case's recorded events on its pinned model version(s); prove the result is the stored state.

    Prints `identical` (exit 0) or `different` with the first difference (exit 1).
    """
    from ..audit.replay import ReplayFailed, case_at, case_ids, replay_case

    svc = _svc()
    _quiet_engine()
    if (case_id is None) == (not every):
        raise click.UsageError("give a CASE id or --all")
    failures = 0
    for one in [case_id] if case_id is not None else case_ids(svc):
        if at_seq is not None:
            try:
                moment = case_at(svc, one, at_seq)
            except ReplayFailed as exc:
                click.echo(f"different: case {one}: {exc}")
                sys.exit(1)
            if moment is None:
                click.echo(f"no case {one}")
                sys.exit(1)
            view = {**moment["view"], "at": str(moment["view"]["at"])}
            click.echo(json.dumps({"event": {k: str(v) if k == "at" else v for k, v in moment["event"].items()},
                                   "view": view, "changes": moment["changes"],
                                   "differences": [str(d) for d in moment["differences"]]},
                                  ensure_ascii=False, indent=2, default=str))
            continue
        found = replay_case(svc, one)
        if found is None:
            click.echo(f"no case {one}")
            sys.exit(1)
        reference, result = found
        if result.identical:
            click.echo(f"identical: case {one} ({reference}), {result.events} events replayed in "
                       f"{result.seconds:.2f} s")
        else:
            failures += 1
            click.echo(f"different: case {one} ({reference}): {result.first}")
    sys.exit(1 if failures else 0)


@audit_cli.command("dossier")
@click.argument("case_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Where to write the zip (default: <reference>-dossier.zip here).")
@click.option("--lang", type=click.Choice(["ja", "en"]), default="ja", help="Language of the report.")
def dossier_command(case_id: int, output: str | None, lang: str) -> None:
    """Export a case dossier: events, model files, form schemas, hashes, manifest and a printable report.

    Check it anywhere with `python -m service.audit.dossier verify FILE`.
    """
    from ..audit.dossier_export import export_case_dossier

    _quiet_engine()
    exported = export_case_dossier(_svc(), case_id, created_by="cli", lang=lang)
    if exported is None:
        click.echo(f"no case {case_id}")
        sys.exit(1)
    reference, content = exported
    target = Path(output or f"{reference}-dossier.zip")
    target.write_bytes(content)
    click.echo(f"wrote {target} ({len(content):,} bytes)")
