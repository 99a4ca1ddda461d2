"""The import contracts of `.importlinter` hold (docs/architecture.md, "Import contracts"): entry points never
import SQLAlchemy or SpiffWorkflow, the tables and the engine import nothing of the service, nothing imports
the entry points back, and no modules import each other in a loop."""

from __future__ import annotations

import logging
from pathlib import Path

from importlinter import cli

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(**options) -> int:
    """import-linter's command, run in this process without its side effect on the others: its logging set-up
    (logging.config.dictConfig) disables every logger that exists, so the tests after it in the same worker
    lost their log lines (the engine's, tejun's)."""
    loggers = [logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)]
    disabled = {logger: logger.disabled for logger in loggers}
    try:
        return cli.lint_imports(**options)
    finally:
        for logger, was in disabled.items():
            logger.disabled = was


def test_every_import_contract_is_kept(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # the contracts and their own contract type (tests.import_contracts) are found from here
    monkeypatch.syspath_prepend(str(ROOT))
    code = lint_imports(config_filename=str(ROOT / ".importlinter"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert code == 0, report


def test_an_entry_point_opening_a_session_breaks_the_contract_and_so_does_a_stale_exception(
        monkeypatch, capsys, tmp_path):
    """The session contract reads the source (an import contract cannot see `svc.db.reader()`): a page module
    that opens a session and is not listed breaks it, and so does a listed module that opens none."""
    package = tmp_path / "pages_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "queue.py").write_text(
        "def page(svc):\n    with svc.db.reader() as session:\n        return session.scalar(1)\n", encoding="utf-8")
    (package / "clean.py").write_text("def page(svc):\n    return svc.queries.queue()\n", encoding="utf-8")
    monkeypatch.chdir(ROOT)  # the contract type (tests.import_contracts) is found from here
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.syspath_prepend(str(tmp_path))
    config = tmp_path / "contracts.ini"
    config.write_text(
        "[importlinter]\nroot_packages =\n    pages_pkg\ncontract_types =\n"
        "    no_database_sessions: tests.import_contracts.NoDatabaseSessionsContract\n\n"
        "[importlinter:contract:sessions]\nname = sessions\ntype = no_database_sessions\n"
        "source_modules =\n    pages_pkg\nexceptions =\n    pages_pkg.clean\n", encoding="utf-8")
    code = lint_imports(config_filename=str(config), no_cache=True, no_logo=True)
    report = " ".join(capsys.readouterr().out.split())
    assert code == 1
    assert "pages_pkg.queue uses the services' db (call a use case or query instead), lines 2" in report
    assert "pages_pkg.clean is listed as an exception but no longer uses the services' db" in report
