"""An import-linter contract type of tejun's own (`.importlinter`): no import loop between modules.

import-linter's `acyclic_siblings` looks at packages; this looks at modules, lazy imports (inside functions)
included: a loop through a function-level import is still a loop (it only hides it from the interpreter).
"""

from __future__ import annotations

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
