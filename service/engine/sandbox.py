"""Sandboxed evaluation of everything SpiffWorkflow evaluates.

Script tasks, pre/post scripts, gateway conditions, timer and multi-instance expressions and DMN cells come
from uploaded diagrams, so they are untrusted code. SpiffWorkflow's default environment runs them with
`eval`/`exec` and full builtins; this module replaces it:

* Source is compiled with RestrictedPython under a stricter policy (`_Policy`): no imports, no names or
  attributes starting with `_`, no try/with/class statements (a bare `except:` could swallow the deadline),
  and the operators that can build huge values in one C call (`*`, `**`, `<<`, `+`, `//`, `%`) are
  routed through size-checking helpers.
* At run time only the task data, a few safe builtins and read-only views of `datetime`, `decimal` and
  `math` are visible; attribute access is allowed on plain data types only (no functions, generators,
  frames, modules).
* A per-call deadline is enforced with `sys.settrace` (works in whatever thread runs the engine), plus a
  coarse memory-growth check on Linux.
* Comparisons, `in`, f-string values, dict keys and set members (displays, comprehensions, subscripts) pass
  through checks too: their C code walks or hashes a value, which the deadline cannot interrupt.
* Expressions run with `HELPERS_READONLY` (no `append`, `update`, ... on data) and must return values
  (`sandbox_values.data_problem`, no functions, modules or classes); after a script, what it left in the task
  data must be JSON data, else it is taken out and `SandboxViolation` names it, also when the script failed.

Why in-process, and what holds instead of a process boundary: a process per script (with RLIMIT_AS and
RLIMIT_CPU) costs milliseconds per call, and a task cycle evaluates several scripts and conditions. So the
evaluator is vetted instead: the tracer bounds Python-level work, and every way to make one C call do a lot
(building, printing, comparing, sorting, hashing a value, reading the real clock or a real class) is either
unreachable or measured before the call. The measured costs are in docs/security.md, "Scripts in models".

Violations raise `SandboxViolation` with a plain message ("name '__import__' is not allowed"). The run-time
guards (size checks, attribute access, builtins, the watchdog) live in `sandbox_guards`, the measures of
values (walks, data) in `sandbox_values`.
"""

from __future__ import annotations

import ast
import copy
import decimal
import functools
import re
import sys
import types
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer, copy_locations
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .sandbox_guards import (
    DECIMAL_CONTEXT,
    DEFAULT_MEMORY_LIMIT_MB,
    HELPERS,
    HELPERS_READONLY,
    MODULES,
    SAFE_BUILTINS,
    SANDBOX_FILENAME,
    Namespace,
    SandboxTimeout,
    SandboxViolation,
    Watchdog,
    fingerprint,
    fingerprints_before_changes,
    format_spec_problem,
    start_watching_changes,
)
from .sandbox_values import MAX_DATA_SIZE, data_problem
from .sandbox_values import WALKED as _WALKED

__all__ = [
    "SandboxEnvironment",
    "SandboxTimeout",
    "SandboxViolation",
    "SandboxedScriptEngine",
    "check_source",
]

Mode = Literal["exec", "eval"]


# --------------------------------------------------------------------------------------------------
# Compile time: the policy
# --------------------------------------------------------------------------------------------------

# Builtins whose only use inside a diagram would be to escape; refused by name even if task data has them.
_FORBIDDEN_NAMES = frozenset({
    "open", "exec", "eval", "compile", "getattr", "setattr", "delattr", "hasattr", "globals", "locals",
    "vars", "breakpoint", "memoryview", "builtins",
})

_GUARDED_BINOPS: dict[type[ast.operator], str] = {
    ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.FloorDiv: "//", ast.Mod: "%",
}

_AUG_SYMBOLS: dict[type[ast.operator], str] = {
    ast.Add: "+=", ast.Sub: "-=", ast.Mult: "*=", ast.Div: "/=", ast.Mod: "%=", ast.Pow: "**=",
    ast.LShift: "<<=", ast.RShift: ">>=", ast.BitOr: "|=", ast.BitXor: "^=", ast.BitAnd: "&=",
    ast.FloorDiv: "//=", ast.MatMult: "@=",
}

_IMPORT_MESSAGE = (
    "import statements are not allowed (datetime, decimal and math are available without import)"
)


def _position(node: ast.AST) -> dict[str, int]:
    return {name: getattr(node, name) for name in ("lineno", "col_offset", "end_lineno", "end_col_offset")}


def _call(name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    node = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
    copy_locations(node, like)
    return node


def _checked(helper: str, node: ast.expr) -> ast.expr:
    """`node` passed through a run-time check (constants need none)."""
    return node if isinstance(node, ast.Constant) else _call(helper, [node], node)


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy, stricter and with plainer messages."""

    def error(self, node: ast.AST, info: str) -> None:
        self.errors.append(f"line {getattr(node, 'lineno', '?')}: {info}")

    def check_name(self, node, name, allow_magic_methods=False):
        if name is None:
            return
        if (name.startswith("_") and name != "_") or name in _FORBIDDEN_NAMES:
            self.error(node, f"name '{name}' is not allowed")
            return
        super().check_name(node, name, allow_magic_methods)

    def visit_Attribute(self, node: ast.Attribute):
        if (node.attr.startswith("_") and node.attr != "_") or node.attr in INSPECT_ATTRIBUTES:
            node = self.node_contents_visit(node)  # report the inner ones too, innermost first
            self.error(node, f"attribute '{node.attr}' is not allowed")
            return node
        return super().visit_Attribute(node)

    def visit_Call(self, node: ast.Call):
        # RestrictedPython adds its own "Exec calls are not allowed" for these; our name check already
        # reports them, so hide the duplicate. The code is never compiled when there is an error.
        if isinstance(node.func, ast.Name) and node.func.id in ("exec", "eval"):
            self.error(node, f"name '{node.func.id}' is not allowed")
            node.func = ast.Name("refused", ast.Load())
        return super().visit_Call(node)

    def visit_Import(self, node):
        self.error(node, _IMPORT_MESSAGE)
        return node

    visit_ImportFrom = visit_Import

    def visit_Try(self, node):
        self.error(node, "try statements are not allowed")
        return node

    visit_TryStar = visit_Try

    def visit_With(self, node):
        self.error(node, "with statements are not allowed")
        return node

    def visit_ClassDef(self, node):
        self.error(node, "class definitions are not allowed")
        return node

    def visit_BinOp(self, node: ast.BinOp):
        node = self.node_contents_visit(node)
        symbol = _GUARDED_BINOPS.get(type(node.op))
        if symbol is None:
            return node
        return _call("_binop_", [ast.Constant(symbol), node.left, node.right], node)

    def visit_While(self, node: ast.While):
        # `while True: pass` produces no line events on CPython 3.11, so every pass calls `_tick_`,
        # whose call event the deadline tracer sees.
        node = self.node_contents_visit(node)
        tick = ast.Expr(_call("_tick_", [], node))
        copy_locations(tick, node)
        node.body.insert(0, tick)
        return node

    def visit_AugAssign(self, node: ast.AugAssign):
        target = node.target
        # `totals[key] += 1`: RestrictedPython refuses augmented item assignment. We allow it when the
        # container and key are plain names or constants, so evaluating them twice has no side effect.
        if (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Name)
            and isinstance(target.slice, ast.Name | ast.Constant)
        ):
            container = self.visit(ast.Name(target.value.id, ast.Load(), **_position(target)))
            key = self.visit(copy.deepcopy(target.slice))
            value = self.visit(node.value)
            current = _call("_getitem_", [container, key], target)
            updated = _call("_inplacevar_", [ast.Constant(_AUG_SYMBOLS[type(node.op)]), current, value], node)
            store = ast.Subscript(value=_call("_write_", [copy.deepcopy(container)], target),
                                  slice=copy.deepcopy(key), ctx=ast.Store())
            assign = ast.Assign(targets=[store], value=updated)
            copy_locations(store, target)
            copy_locations(assign, node)
            return assign
        return super().visit_AugAssign(node)

    # Operations whose C code walks a value (see sandbox_guards): each operand goes through a check first.
    def visit_Compare(self, node: ast.Compare):
        node = self.node_contents_visit(node)
        if all(isinstance(op, ast.Is | ast.IsNot) for op in node.ops):
            return node
        if len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn):
            node.left = _checked("_key_", node.left)  # hashed when the right side is a dict or set
            node.comparators = [_checked("_haystack_", node.comparators[0])]
            return node
        node.left = _checked("_operand_", node.left)
        node.comparators = [_checked("_operand_", value) for value in node.comparators]
        return node

    def visit_Set(self, node: ast.Set):
        node = self.node_contents_visit(node)
        node.elts = [self._starred_keys(elt) if isinstance(elt, ast.Starred) else _checked("_key_", elt)
                     for elt in node.elts]
        return node

    @staticmethod
    def _starred_keys(elt: ast.Starred) -> ast.Starred:
        starred = ast.Starred(_call("_keys_", [elt.value], elt), ast.Load())
        copy_locations(starred, elt)
        return starred

    def visit_Dict(self, node: ast.Dict):
        node = self.node_contents_visit(node)
        node.keys = [key if key is None else _checked("_key_", key) for key in node.keys]
        return node

    def visit_SetComp(self, node: ast.SetComp):
        node = super().visit_SetComp(node)
        node.elt = _checked("_key_", node.elt)
        return node

    def visit_DictComp(self, node: ast.DictComp):
        node = super().visit_DictComp(node)
        node.key = _checked("_key_", node.key)
        return node

    def visit_Subscript(self, node: ast.Subscript):
        node = super().visit_Subscript(node)
        # loads became `_getitem_(...)`, which checks keys; stores and deletes stay subscripts
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice):
            node.slice = _checked("_key_", node.slice)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue):
        node = self.node_contents_visit(node)
        node.value = _checked("_formatted_", node.value)
        spec = node.format_spec
        if isinstance(spec, ast.JoinedStr):
            if not all(isinstance(part, ast.Constant) for part in spec.values):
                self.error(node, "f-string format specifications must be literal")
            else:
                problem = format_spec_problem("".join(str(part.value) for part in spec.values))
                if problem:
                    self.error(node, problem)
        return node


class _Compiled(NamedTuple):
    code: types.CodeType | None
    problems: tuple[str, ...]


def _prepare(source: str, mode: Mode) -> str:
    # eval() strips surrounding blanks itself, and conditions in XML are often padded with newlines
    return source.strip() if mode == "eval" else source


@functools.lru_cache(maxsize=4096)
def _compile(source: str, mode: Mode) -> _Compiled:
    try:
        tree = ast.parse(_prepare(source, mode), SANDBOX_FILENAME, mode)
    except SyntaxError as exc:
        return _Compiled(None, (f"line {exc.lineno}: syntax error: {exc.msg}",))
    except (ValueError, MemoryError, RecursionError) as exc:  # NUL bytes, absurd nesting
        return _Compiled(None, (f"cannot parse: {exc}",))
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    try:
        result = compiler(tree, filename=SANDBOX_FILENAME, policy=_Policy)
    except (SyntaxError, ValueError, RecursionError) as exc:
        return _Compiled(None, (f"cannot compile: {exc}",))
    problems = tuple(dict.fromkeys(result.errors))  # drop duplicates, keep order
    return _Compiled(None if problems else result.code, problems)


def check_source(source: str, mode: Mode) -> list[str]:
    """Problems that would stop `source` from running in the sandbox (empty when it compiles)."""
    if mode not in ("exec", "eval"):
        raise ValueError(f"mode must be 'exec' or 'eval', not {mode!r}")
    if not isinstance(source, str):
        return ["source is not text"]
    return list(_compile(source, mode).problems)


def _compiled_or_raise(source: str, mode: Mode) -> types.CodeType:
    if not isinstance(source, str):
        raise SandboxViolation(f"expected source text, got {type(source).__name__}")
    compiled = _compile(source, mode)
    if compiled.code is None:
        first = compiled.problems[0]
        match = re.match(r"line (\d+):", first)
        raise SandboxViolation("; ".join(compiled.problems), int(match.group(1)) if match else None)
    return compiled.code


# --------------------------------------------------------------------------------------------------
# The SpiffWorkflow environment and engine
# --------------------------------------------------------------------------------------------------


def _is_injected(value: Any) -> bool:
    return isinstance(value, Namespace) or callable(value)


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Drop-in for SpiffWorkflow's `TaskDataEnvironment`, evaluating everything in the sandbox.

    `environment_globals` are trusted extra names (functions or values) offered to scripts; like the
    modules they are shadowed by task data of the same name and removed from the data afterwards.
    """

    def __init__(self, environment_globals: Mapping[str, Any] | None = None, *, time_limit: float = 1.0,
                 memory_limit_mb: int | None = DEFAULT_MEMORY_LIMIT_MB):
        super().__init__(dict(environment_globals or {}))
        self.time_limit = time_limit
        self.memory_limit_mb = memory_limit_mb
        self._names = {**MODULES, **self.globals}

    def _run(self, code: types.CodeType, namespace: dict[str, Any]) -> Any:
        watchdog = Watchdog(self.time_limit, self.memory_limit_mb)
        previous = sys.gettrace()
        sys.settrace(watchdog.on_call)
        try:
            with decimal.localcontext(DECIMAL_CONTEXT):
                # The code object was compiled by RestrictedPython under _Policy and runs with only the
                # sandbox builtins: this is the point of the module.
                return eval(code, namespace)  # noqa: S307
        finally:
            sys.settrace(previous)

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        code = _compiled_or_raise(expression, "eval")
        namespace = dict(self._names)
        namespace.update(external_context or {})
        namespace.update(context)
        namespace.update(HELPERS_READONLY)
        namespace["__builtins__"] = SAFE_BUILTINS
        result = self._run(code, namespace)
        if type(result) not in _PLAIN_RESULTS:
            problem, _size = data_problem(result, expression=True)
            if problem:
                raise SandboxViolation(f"the expression's value is not data: {problem}")
        return result

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        code = _compiled_or_raise(script, "exec")
        external_context = external_context or {}
        clashes = set(external_context).intersection(context)
        if clashes:
            raise ValueError(f"task data overwrites predefined names; rename: {sorted(clashes)}")
        # Like TaskDataEnvironment, the script runs directly on the task data, so its assignments land
        # there; everything we add is taken out again afterwards.
        before = set(context)
        found = dict(context)
        shadowed = {name: context[name] for name in HELPERS.keys() & before}
        injected = {name: value for name, value in self._names.items() if name not in context}
        context.update(injected)
        context.update(external_context)
        context.update(HELPERS)
        context["__builtins__"] = SAFE_BUILTINS
        start_watching_changes(found)
        try:
            self._run(code, context)
        finally:
            self._clean(context, before, injected, external_context)
            context.update(shadowed)
            # also when the script failed: the case keeps this data, so it must stay data
            problems = _drop_non_data(context, found, fingerprints_before_changes())
        if problems:
            raise SandboxViolation("; ".join(problems))
        return True

    @staticmethod
    def _clean(context: dict[str, Any], before: set[str], injected: Mapping[str, Any],
               external_context: Mapping[str, Any]) -> None:
        for name in list(context):
            value = context[name]
            if (
                name == "__builtins__"
                or name in HELPERS
                or name in external_context
                or (name in injected and value is injected[name])
                or (name.startswith("_") and name not in before)  # RestrictedPython's temporaries
                or _is_injected(value)  # functions, modules: not task data
            ):
                del context[name]

    def call_service(self, context, **kwargs):
        raise SandboxViolation("service tasks are not available to diagrams")


_PLAIN_RESULTS = frozenset({bool, int, str, type(None)})  # what conditions return: nothing to walk


_ABSENT = object()


def _drop_non_data(context: dict[str, Any], found: Mapping[str, Any],
                   before: Mapping[str, bytes | None] | None) -> list[str]:
    """Takes out of task data what is not JSON data (see `sandbox_values.data_problem`), and says what it was.

    Scripts may keep only data: a function or module stored in a list, data nested thousands of levels deep
    or too much of it would otherwise break saving the case (and every later step). Walking all of a case's
    data after every script would cost as much as saving it, so a value still bound to the name it had is
    skipped when it is immutable, when the script changed no container in place (`before` is None), or when
    its fingerprint is the one it had before the first change."""
    problems = []
    budget = MAX_DATA_SIZE
    for name in list(context):
        value = context[name]
        if found.get(name, _ABSENT) is value and (before is None or type(value) not in _WALKED):
            continue
        if found.get(name, _ABSENT) is value and before.get(name) is not None and fingerprint(value) == before[name]:
            continue
        problem, size = data_problem(value, budget)
        if problem:
            del context[name]
            problems.append(f"task data '{name}' holds {problem}; scripts may only store JSON data "
                            "(dict, list, text, numbers, true/false, None)")
        else:
            budget -= size
    return problems


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class SandboxedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow script engine whose every evaluation runs in the sandbox.

    Failures surface as SpiffWorkflow's `WorkflowTaskException` (with `.task`, `.line_number`,
    `.error_line`), chained to the original error; for sandbox refusals that is a `SandboxViolation`.
    """

    def __init__(self, time_limit: float = 1.0, *, environment_globals: Mapping[str, Any] | None = None,
                 memory_limit_mb: int | None = DEFAULT_MEMORY_LIMIT_MB):
        super().__init__(environment=SandboxEnvironment(environment_globals, time_limit=time_limit,
                                                         memory_limit_mb=memory_limit_mb))
        self.time_limit = time_limit

    def evaluate(self, task, expression, external_context=None):
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as exc:
            exc.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as exc:
            raise WorkflowTaskException(
                f"Error evaluating expression '{expression}': {_describe(exc)}", task=task, exception=exc
            ) from exc

    def execute(self, task, script, external_context=None):
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except Exception as exc:
            raise self.create_task_exec_exception(task, script, exc) from exc

    def create_task_exec_exception(self, task, script, err):
        if isinstance(err, SpiffWorkflowException):
            return super().create_task_exec_exception(task, script, err)
        line_number, error_line = self.get_error_line_number_and_content(script, err)
        if not line_number and getattr(err, "lineno", None):
            line_number = err.lineno
            lines = script.splitlines()
            error_line = lines[line_number - 1] if 0 < line_number <= len(lines) else ""
        return WorkflowTaskException(_describe(err), task=task, exception=err, line_number=line_number,
                                     error_line=error_line)

    def call_service(self, task, **kwargs):
        raise WorkflowTaskException("service tasks are not available to diagrams", task=task)
