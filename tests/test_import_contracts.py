"""The import contracts of `.importlinter` hold (docs/architecture.md, "Import contracts"): entry points never
import SQLAlchemy or SpiffWorkflow, the tables and the engine import nothing of the service, nothing imports
the entry points back, and no modules import each other in a loop."""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_every_import_contract_is_kept(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # the contracts and their own contract type (tests.import_contracts) are found from here
    monkeypatch.syspath_prepend(str(ROOT))
    code = lint_imports(config_filename=str(ROOT / ".importlinter"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert code == 0, report
