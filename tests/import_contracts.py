"""Contract types of tejun's own (`.importlinter`): no import loop between modules; entry points use no database
session (NoDatabaseSessionsContract, below).

import-linter's `acyclic_siblings` looks at packages; this looks at modules, lazy imports (inside functions)
included: a loop through a function-level import is still a loop (it only hides it from the interpreter).
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import grimp
from importlinter.application import contract_utils, output
from importlinter.application.contract_utils import AlertLevel
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class NoModuleLoopsContract(Contract):
    """Configuration: `root_package` (the package whose modules may not import each other in a loop);
    `ignore_imports` (known exceptions, as in import-linter's own contracts: each one an import to remove)."""

    type_name = "no_module_loops"

    root_package = fields.StringField()
    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        removal = contract_utils.remove_ignored_imports_and_report(
            graph=graph, ignore_imports=self.ignore_imports, unmatched_alerting=AlertLevel.ERROR)
        root = str(self.root_package)
        modules = sorted(m for m in graph.modules if m == root or m.startswith(root + "."))
        loops = [sorted(loop) for loop in _strongly_connected(graph, modules) if len(loop) > 1]
        return ContractCheck(kept=not loops, warnings=list(removal.warnings),
                             ignored_import_count=removal.ignored_import_count, metadata={"loops": loops})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for loop in check.metadata["loops"]:
            output.print_error(f"{len(loop)} modules import each other in a loop:", bold=True)
            for module in loop:
                output.indent_cursor()
                output.print_error(module)
            output.new_line()


def _strongly_connected(graph: grimp.ImportGraph, modules: list[str]) -> list[list[str]]:
    """Tarjan's strongly connected components over the imports between `modules` (iterative)."""
    inside = set(modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in modules:
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start) & inside)))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child) & inside))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
    return found


class NoDatabaseSessionsContract(Contract):
    """Entry points hold no SQL and no transactions (issue 15): no module of `source_modules` reaches the database
    through the services' `db` (`svc.db.reader()`, `svc.db.transaction()`, `svc.db.engine`); they call use cases
    and queries that open their own session. An import contract cannot see this (the entry points never import
    `service.db`, they use the attribute), so this one reads their source.

    Configuration: `source_modules` (packages); `exceptions` (modules that still do, each one to remove; a
    listed module that no longer does breaks the contract too, so that the list stays true)."""

    type_name = "no_database_sessions"

    source_modules = fields.ListField(subfield=fields.ModuleField())
    exceptions = fields.SetField(subfield=fields.StringField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        modules = sorted({m for package in self.source_modules
                          for m in graph.find_descendants(package.name) | {package.name}})
        using = {m: lines for m in modules if (lines := _database_uses(m))}
        exceptions = {str(e) for e in (self.exceptions or set())}
        new = {m: lines for m, lines in using.items() if m not in exceptions}
        stale = sorted(exceptions - set(using))
        return ContractCheck(kept=not new and not stale, metadata={"new": new, "stale": stale},
                             warnings=[f"{m}: {len(lines)} uses of the services' db (a known exception)"
                                       for m, lines in sorted(using.items()) if m in exceptions])

    def render_broken_contract(self, check: ContractCheck) -> None:
        for module, lines in sorted(check.metadata["new"].items()):
            output.print_error(f"{module} uses the services' db (call a use case or query instead), lines "
                               f"{', '.join(map(str, lines))}", bold=True)
        for module in check.metadata["stale"]:
            output.print_error(f"{module} is listed as an exception but no longer uses the services' db: "
                               "drop it from the list", bold=True)
        output.new_line()


def _database_uses(module: str) -> list[int]:
    """Lines of `module` where an expression `<anything>.db.reader|transaction|engine` appears."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return []
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    return sorted({node.lineno for node in ast.walk(tree)
                   if isinstance(node, ast.Attribute) and node.attr in {"reader", "transaction", "engine"}
                   and isinstance(node.value, ast.Attribute) and node.value.attr == "db"})
