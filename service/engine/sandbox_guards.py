"""Run-time guards of the script sandbox (see `sandbox`): what a running script may touch and how big or
long it may get.

* Operators and methods that can build a huge value in one C call (`'x' * 10**9`, `2 ** 10**9`, `1 << n`,
  `str.center(n)`, `''.join(...)`, `%`/`format` widths, `range(n)`, `zip(*[l] * n)`, `to_bytes(n)`, ...)
  check the size first: the deadline tracer cannot interrupt a single C call.
* Calls that walk a value in C (`str()`, f-strings, `%`, `format()`, `==`/`<`/`in`, `sorted()`, `min()`,
  `max()`, `set()`, `dict()`, `list.sort/index/count`, dict keys and set members) measure the walk first
  (`sandbox_values.walk_problem`): a list repeating one big item costs what it would print or compare, and
  hashed keys may not nest deeper than 100 levels (deep tuples crash CPython's hash).
* Attribute access is allowed on plain data values and their types only, never returns a class other than
  the ones offered (`mro()` is refused: it would reach the real `Decimal` behind the checked one), and
  "now"/"today" always come from tejun's clock, also through an instance (`date(2020, 1, 1).today()`).
  `str.format` cannot reach attributes through its fields. Expressions cannot change data in place
  (`HELPERS_READONLY` refuses `append`, `update`, ...): only scripts write task data, and what they leave
  there is checked to be JSON data (`sandbox_values.data_problem`).
* Builtins are a short safe list (`str`, `dict`, `set` are checking stand-ins that still work with
  `isinstance`); `datetime`, `decimal` and `math` are attribute-only stand-ins.
* `Watchdog` is the `sys.settrace` function enforcing one call's deadline and a memory-growth ceiling.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import marshal
import math
import operator
import re
import string
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from .. import clock
from .sandbox_values import WALKED, key_problem, walk_problem

# SpiffWorkflow finds the failing line of a script by looking for this file name in the traceback.
SANDBOX_FILENAME = "<string>"

MAX_SEQUENCE_LEN = 1_000_000  # items or characters one operation may produce
MAX_INT_BITS = 100_000  # about 30,000 decimal digits
MAX_RANGE_LEN = 100_000
MAX_FORMAT_WIDTH = 10_000
MAX_ROUND_DIGITS = 1_000
MAX_FACTORIAL_ARG = 10_000
DECIMAL_MAX_EXPONENT = 5_000
DEFAULT_MEMORY_LIMIT_MB = 256


class SandboxViolation(Exception):
    """A script or expression tried something the sandbox does not allow."""

    def __init__(self, message: str, lineno: int | None = None):
        super().__init__(message)
        self.message = message
        self.lineno = lineno


class SandboxTimeout(SandboxViolation):
    """A script or expression ran past its time limit."""


# --------------------------------------------------------------------------------------------------
# Run time: size checks
# --------------------------------------------------------------------------------------------------

_SEQUENCES = (str, bytes, bytearray, list, tuple)


def _refuse(message: str) -> None:
    raise SandboxViolation(message)


def _check_int(value: Any) -> None:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        _refuse(f"integer too large ({value.bit_length()} bits, limit {MAX_INT_BITS})")


def _check_length(length: int, what: str) -> None:
    if length > MAX_SEQUENCE_LEN:
        _refuse(f"{what} would create {length} items (limit {MAX_SEQUENCE_LEN})")


def _check_walk(value: Any, what: str) -> None:
    """Refuses a C-level walk over `value` (printing, comparing, sorting it) that would do too much."""
    if type(value) in WALKED:
        problem = walk_problem(value)
        if problem:
            _refuse(f"{what}: {problem}")


def _check_keys(values: Any, what: str) -> Any:
    """`values` as something C code may hash item by item: iterators are read into a list first (in Python,
    so the deadline applies) and deep or huge tuple keys refused."""
    if type(values) not in WALKED and not isinstance(values, str | range) and hasattr(values, "__iter__"):
        values = list(values)
    if type(values) in WALKED:
        problem = walk_problem(values, hashing=True)
        if problem:
            _refuse(f"{what}: {problem}")
    return values


def _operand(value: Any) -> Any:
    """Wraps each operand of `==`, `<`, ...: comparing containers walks them in C."""
    if type(value) in WALKED:
        _check_walk(value, "comparison")
    return value


def _key(value: Any) -> Any:
    """Wraps dict keys and set members (`{k: v}`, `{k}`, `d[k] = v`) and the left side of `in`."""
    problem = key_problem(value)
    if problem:
        _refuse(f"key: {problem}")
    return value


def _haystack(value: Any) -> Any:
    """Wraps the right side of `in`: a list or tuple is compared item by item, a dict or set hashes once."""
    if type(value) in WALKED and not isinstance(value, dict | set | frozenset):
        _check_walk(value, "'in'")
    return value


def _formatted(value: Any) -> Any:
    """Wraps each value of an f-string: formatting a container prints all of it."""
    if type(value) in WALKED:
        _check_walk(value, "f-string")
    else:
        _check_decimal(value)
    return value


def _check_mul(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            _refuse(f"multiplication result too large (limit {MAX_INT_BITS} bits)")
    elif isinstance(a, _SEQUENCES) and isinstance(b, int):
        _check_length(len(a) * max(b, 0), "sequence repetition")
    elif isinstance(b, _SEQUENCES) and isinstance(a, int):
        _check_length(len(b) * max(a, 0), "sequence repetition")


def _check_pow(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        _check_int(b)
        if math.log2(abs(a)) * b > MAX_INT_BITS:
            _refuse(f"power {a} ** {b} is too large (limit {MAX_INT_BITS} bits)")


def _check_lshift(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int) and a and b > 0 and a.bit_length() + b > MAX_INT_BITS:
        _refuse(f"shift {a} << {b} is too large (limit {MAX_INT_BITS} bits)")


def _check_add(a: Any, b: Any) -> None:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        _check_length(len(a) + len(b), "concatenation")


def _check_division(a: Any, b: Any) -> None:
    _check_int(a)
    _check_int(b)


_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_mod(a: Any, b: Any) -> None:
    if isinstance(a, str | bytes):
        template = a if isinstance(a, str) else a.decode("latin-1")
        for match in _PERCENT_FIELD.finditer(template.replace("%%", "")):
            for size in match.groups():
                if size == "*":
                    _refuse("'*' widths in % formatting are not allowed")
                if size and int(size) > MAX_FORMAT_WIDTH:
                    _refuse(f"format width {size} is too large (limit {MAX_FORMAT_WIDTH})")
        values = b.values() if isinstance(b, Mapping) else b if isinstance(b, tuple) else (b,)
        for value in values:
            _check_decimal(value)
            _check_walk(value, "% formatting")
    else:
        _check_division(a, b)


def format_spec_problem(spec: str) -> str | None:
    if "{" in spec:
        return "nested replacement fields in format specifications are not allowed"
    for number in re.findall(r"\d+", spec):
        if int(number) > MAX_FORMAT_WIDTH:
            return f"format width {number} is too large (limit {MAX_FORMAT_WIDTH})"
    return None


def _check_decimal(value: Any) -> None:
    if (
        isinstance(value, decimal.Decimal)
        and value.is_finite()
        and value
        and abs(value.adjusted()) > DECIMAL_MAX_EXPONENT
    ):
        _refuse(f"decimal exponent too large (limit {DECIMAL_MAX_EXPONENT})")


_BINOPS: dict[str, tuple[Callable[[Any, Any], Any], Callable[[Any, Any], None]]] = {
    "+": (operator.add, _check_add),
    "*": (operator.mul, _check_mul),
    "**": (operator.pow, _check_pow),
    "<<": (operator.lshift, _check_lshift),
    "//": (operator.floordiv, _check_division),
    "%": (operator.mod, _check_mod),
}

_INPLACE: dict[str, tuple[Callable[[Any, Any], Any], Callable[[Any, Any], None] | None]] = {
    "+=": (operator.iadd, _check_add), "-=": (operator.isub, None), "*=": (operator.imul, _check_mul),
    "/=": (operator.itruediv, None), "%=": (operator.imod, _check_mod), "**=": (operator.ipow, _check_pow),
    "<<=": (operator.ilshift, _check_lshift), ">>=": (operator.irshift, None),
    "|=": (operator.ior, None), "^=": (operator.ixor, None), "&=": (operator.iand, None),
    "//=": (operator.ifloordiv, _check_division), "@=": (operator.imatmul, None),
}


def _binop(symbol: str, a: Any, b: Any) -> Any:
    apply, check = _BINOPS[symbol]
    check(a, b)
    return apply(a, b)


def _inplacevar(symbol: str, a: Any, b: Any) -> Any:
    apply, check = _INPLACE[symbol]
    if check is not None:
        check(a, b)
    if type(a) in _CONTAINERS:  # `items += [x]` changes the list itself
        _note_change()
    return apply(a, b)


# Whether the running script changes a container in place: every way to do so passes through `_write_`,
# `_inplacevar_` or `_getattr_` (append, update, ...) first. When it does not, the data it found stays as it
# was and only what it binds anew needs checking afterwards (see `SandboxEnvironment.execute`); when it does,
# the data it found is fingerprinted at that moment, before the first change, so that afterwards only the
# values whose fingerprint changed are walked.
_changes = threading.local()


def fingerprint(value: Any) -> bytes | None:
    """`value`'s content, in C (marshal: plain types only; what is shared is written once)."""
    try:
        return marshal.dumps(value)
    except (ValueError, RecursionError):
        return None


def start_watching_changes(found: Mapping[str, Any]) -> None:
    _changes.found = found
    _changes.before = None


def fingerprints_before_changes() -> dict[str, bytes | None] | None:
    """Fingerprints of the containers the script found, taken before it changed one; None if it changed none."""
    return getattr(_changes, "before", {})


def _note_change() -> None:
    if getattr(_changes, "before", {}) is None:
        found = _changes.found
        _changes.before = {name: fingerprint(value) for name, value in found.items() if type(value) in WALKED}


def _tick() -> None:
    """Called on every pass of a `while` loop; the deadline tracer watches for its call event."""


_TICK_CODE = _tick.__code__


# --------------------------------------------------------------------------------------------------
# Run time: attribute access
# --------------------------------------------------------------------------------------------------


class Namespace:
    """A read-only, attribute-only stand-in for a module (no submodules, nothing private)."""

    def __init__(self, name: str, members: Mapping[str, Any]):
        self._name = name
        self.__dict__.update(members)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"module '{self._name}' has no attribute '{name}' in scripts")

    def __repr__(self) -> str:
        return f"<module '{self._name}' (sandboxed)>"


# Attribute access is only for plain data values and the types that make them.
_DATA_TYPES: tuple[type, ...] = (
    str, bytes, int, float, complex, dict, list, tuple, set, frozenset, range, type(None),
    decimal.Decimal, datetime.date, datetime.time, datetime.timedelta, datetime.tzinfo, Namespace,
)


def _safe_format(template: str, *args: Any, **kwargs: Any) -> str:
    for _literal, field, spec, _conversion in string.Formatter().parse(template):
        if field is not None and ("." in field or "[" in field):
            _refuse("attribute or item access inside format() fields is not allowed")
        if spec:
            problem = format_spec_problem(spec)
            if problem:
                _refuse(problem)
    for value in (*args, *kwargs.values()):
        _check_decimal(value)
        _check_walk(value, "format()")
    return template.format(*args, **kwargs)


def _safe_format_map(template: str, mapping: Mapping[str, Any]) -> str:
    return _safe_format(template, **mapping)


def _padded(method: str) -> Callable[..., Any]:
    def pad(text, width, *args):
        if isinstance(width, int):
            _check_length(width, f"{method}()")
        return getattr(text, method)(width, *args)

    return pad


def _safe_expandtabs(text, tabsize=8):
    _check_length(len(text) + text.count("\t" if isinstance(text, str) else b"\t") * max(tabsize, 0),
                  "expandtabs()")
    return text.expandtabs(tabsize)


def _safe_replace(text, old, new, count=-1):
    occurrences = text.count(old) if old else len(text) + 1
    if count >= 0:
        occurrences = min(occurrences, count)
    _check_length(len(text) + occurrences * max(len(new) - len(old), 0), "replace()")
    return text.replace(old, new, count)


def _safe_join(separator, items):
    items = list(items)
    size = sum(len(item) for item in items if isinstance(item, str | bytes))
    _check_length(size + len(separator) * max(len(items) - 1, 0), "join()")
    return separator.join(items)


def _safe_translate(text, table, *args):
    if isinstance(text, str) and isinstance(table, Mapping):
        longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
        _check_length(len(text) * longest, "translate()")
    return text.translate(table, *args)


def _safe_extend(target, items):
    if hasattr(items, "__len__"):
        _check_length(len(target) + len(items), "extend()")
    target.extend(items)


def _safe_from_bytes(cls, data, *args, **kwargs):
    if len(data) * 8 > MAX_INT_BITS:
        _refuse(f"integer too large (limit {MAX_INT_BITS} bits)")
    return cls.from_bytes(data, *args, **kwargs)


def _safe_as_integer_ratio(number):
    _check_decimal(number)
    return number.as_integer_ratio()


def _safe_to_bytes(number, length=1, *args, **kwargs):
    length = kwargs.pop("length", length)
    if isinstance(length, int):
        _check_length(length, "to_bytes()")
    return number.to_bytes(length, *args, **kwargs)


# Methods of allowed types that could produce a huge value in one C call: replaced by checked versions.
_GUARDED_METHODS: dict[str, Callable[..., Any]] = {
    "format": _safe_format,
    "format_map": _safe_format_map,
    "center": _padded("center"),
    "ljust": _padded("ljust"),
    "rjust": _padded("rjust"),
    "zfill": _padded("zfill"),
    "expandtabs": _safe_expandtabs,
    "replace": _safe_replace,
    "join": _safe_join,
    "translate": _safe_translate,
    "extend": _safe_extend,
    "from_bytes": _safe_from_bytes,
    "as_integer_ratio": _safe_as_integer_ratio,
    "to_bytes": _safe_to_bytes,
}
_GUARDED_OWNERS = (str, bytes, list, int, decimal.Decimal)

# Container methods whose C code walks a value: "walk" compares (the receiver and the arguments are measured),
# "keys" hashes every item of its arguments ("first": of its first one), "key" hashes its arguments.
_CONTAINERS = (list, tuple, dict, set, frozenset)
_WALKING_METHODS: dict[tuple[type, str], str] = {
    **{(kind, name): "walk" for kind in (list, tuple) for name in ("index", "count")},
    (list, "sort"): "walk", (list, "remove"): "walk",
    **{(dict, name): "key" for name in ("get", "pop", "setdefault")},
    (dict, "fromkeys"): "first", (dict, "update"): "first",
    **{(set, name): "key" for name in ("add", "remove", "discard")},
    **{
        (kind, name): "keys"
        for kind in (set, frozenset)
        for name in ("union", "intersection", "difference", "symmetric_difference", "issubset", "issuperset",
                     "isdisjoint")
    },
    **{(set, name): "keys" for name in ("update", "intersection_update", "difference_update",
                                        "symmetric_difference_update")},
}
# What expressions (conditions, timers, decision cells) may not call: they read data, scripts change it.
_MUTATING_METHODS = frozenset({
    "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "update", "setdefault", "popitem",
    "add", "discard", "difference_update", "intersection_update", "symmetric_difference_update",
})
_CLOCK_READERS = frozenset({"now", "today", "utcnow"})


def _container_of(obj: Any, is_type: bool) -> type | None:
    if not is_type:
        kind = type(obj)
        return kind if kind in _CONTAINERS else None
    return next((kind for kind in _CONTAINERS if issubclass(obj, kind)), None)


def _walk_checked(method: Callable[..., Any], name: str, mode: str | None, receiver: Any) -> Callable[..., Any]:
    what = f"{name}()"
    if mode == "key":  # d.get(k), s.add(k): the common case, kept short
        def hash_checked(*args: Any, **kwargs: Any) -> Any:
            for arg in args:
                if type(arg) in _DEEP_KEYS:
                    _key(arg)
            return method(*args, **kwargs)

        return hash_checked

    if mode is None:  # changes the container, walks nothing
        return method

    def call(*args: Any, **kwargs: Any) -> Any:
        if mode == "walk":
            _check_walk(receiver, what)
            for arg in args:
                _check_walk(arg, what)
        elif mode == "keys":
            args = tuple(_check_keys(arg, what) for arg in args)
        elif args:  # "first"
            args = (_check_keys(args[0], what), *args[1:])
        return method(*args, **kwargs)

    return call


_DEEP_KEYS = (tuple, frozenset)
# How an attribute of a plain value is handed out, by (type, name): computed once by `_attribute_plan`, as
# this runs for every method call in every script.
_PLAIN_VALUE_TYPES = frozenset({
    str, bytes, int, float, bool, list, dict, tuple, set, frozenset, type(None), decimal.Decimal, datetime.date,
    datetime.datetime, datetime.time, datetime.timedelta,
})
_attribute_plans: dict[tuple[type, str], tuple[str, Any]] = {}


def _guarded_getattr(obj: Any, name: str) -> Any:
    plan = _attribute_plans.get((type(obj), name))
    if plan is None:
        plan = _attribute_plan(obj, name)
        if type(obj) in _PLAIN_VALUE_TYPES:
            _attribute_plans[type(obj), name] = plan
    how, extra = plan
    if how == "plain":
        return getattr(obj, name)
    if how == "walk":
        mode, changes = extra
        if changes:
            _note_change()
        return _walk_checked(getattr(obj, name), name, mode, None if isinstance(obj, type) else obj)
    if how == "guard":
        if name == "from_bytes":
            return functools.partial(extra, obj if isinstance(obj, type) else type(obj))
        return extra if isinstance(obj, type) else functools.partial(extra, obj)
    return getattr(extra, name)  # "clock"


def _attribute_plan(obj: Any, name: str) -> tuple[str, Any]:
    """Refuses what scripts may not read; else says how `_guarded_getattr` hands it out."""
    if not isinstance(name, str) or name.startswith("_") or name in INSPECT_ATTRIBUTES or name == "mro":
        _refuse(f"attribute {name!r} is not allowed")
    is_type = isinstance(obj, type)
    if not (issubclass(obj, _DATA_TYPES) if is_type else isinstance(obj, _DATA_TYPES)):
        kind = f"type {obj.__name__}" if is_type else f"{type(obj).__name__} objects"
        _refuse(f"attribute access on {kind} is not allowed (attribute '{name}')")
    if name in _CLOCK_READERS and (issubclass(obj, datetime.date) if is_type else isinstance(obj, datetime.date)):
        # `date(2020, 1, 1).today()` is the real method: "now" is tejun's clock's, however it is reached
        is_datetime = issubclass(obj, datetime.datetime) if is_type else isinstance(obj, datetime.datetime)
        return "clock", _CLOCKED_DATETIME if is_datetime else _CLOCKED_DATE
    value = getattr(obj, name)
    guard = _GUARDED_METHODS.get(name)
    owned = issubclass(obj, _GUARDED_OWNERS) if is_type else isinstance(obj, _GUARDED_OWNERS)
    if guard is not None and owned:
        return "guard", guard
    if isinstance(value, types.ModuleType):
        _refuse(f"attribute '{name}' is a module, which is not allowed")
    if isinstance(value, type) and value not in _OFFERED_TYPES:
        _refuse(f"attribute '{name}' is a class, which is not allowed")
    container = _container_of(obj, is_type)
    if container is not None:
        mode = _WALKING_METHODS.get((container, name))
        changes = name in _MUTATING_METHODS
        if mode is not None or changes:
            return "walk", (mode, changes)
    return "plain", None


def _readonly_getattr(obj: Any, name: str) -> Any:
    """`_getattr_` of expressions: as for scripts, but data cannot be changed in place."""
    if name in _MUTATING_METHODS and _container_of(obj, isinstance(obj, type)) is not None:
        _refuse(f"'{name}()' changes data, which expressions may not do (use a script task)")
    return _guarded_getattr(obj, name)


def _guarded_getitem(obj: Any, key: Any) -> Any:
    if type(key) in (tuple, frozenset) and isinstance(obj, dict):
        _key(key)
    return obj[key]


def _guarded_getiter(obj: Any) -> Any:
    return iter(obj)


def _guarded_write(obj: Any) -> Any:
    # Only plain containers may be changed in place (`data["x"] = 1`, `del items[0]`).
    if isinstance(obj, dict | list):
        _note_change()
        return obj
    _refuse(f"changing {type(obj).__name__} objects is not allowed")


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


class _DiscardPrints:
    """`print()` is accepted and its output dropped: scripts have no console."""

    def __init__(self, _getattr=None):
        pass

    def _call_print(self, *args: Any, **kwargs: Any) -> None:
        return None

    def __call__(self) -> str:
        return ""


# --------------------------------------------------------------------------------------------------
# Run time: builtins and modules
# --------------------------------------------------------------------------------------------------


def _safe_range(*args: int) -> range:
    try:
        values = range(*args)
        length = len(values)
    except OverflowError:
        length = MAX_RANGE_LEN + 1
    if length > MAX_RANGE_LEN:
        _refuse(f"range() of {length if length <= sys.maxsize else 'too many'} items (limit {MAX_RANGE_LEN})")
    return values


def _safe_sum(items: Iterable[Any], start: Any = 0) -> Any:
    if isinstance(start, _SEQUENCES):
        _refuse("sum() only adds numbers; use join() or a comprehension for sequences")
    return sum(items, start)


def _safe_round(number: Any, ndigits: int | None = None) -> Any:
    if ndigits is None:
        _check_decimal(number)
        return round(number)
    if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
        _refuse(f"round() to {ndigits} digits is not allowed (limit {MAX_ROUND_DIGITS})")
    return round(number, ndigits)


def _builtin(func: Callable[..., Any], name: str) -> Callable[..., Any]:
    func.__name__ = func.__qualname__ = name
    return func


def _comparing(func: Callable[..., Any]) -> Callable[..., Any]:
    """`sorted`, `min`, `max`: compare the items of their argument(s) in C."""

    def checked(*args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and type(args[0]) not in WALKED and not isinstance(args[0], str | range):
            args = (list(args[0]),)  # an iterator: read it in Python first, then measure it
        for arg in args:
            _check_walk(arg, f"{func.__name__}()")
        return func(*args, **kwargs)

    return _builtin(checked, func.__name__)


def _safe_zip(*iterables: Any, **kwargs: Any) -> Any:
    # `list(zip(*[big] * n))` builds n times `big` in one C call
    iterables = tuple(it if hasattr(it, "__len__") else list(it) for it in iterables)
    shortest = min((len(it) for it in iterables), default=0)
    _check_length(shortest * len(iterables), "zip()")
    return zip(*iterables, **kwargs)  # noqa: B905 (zip as scripts know it)


class _StandInType(type):
    """Metaclass of the checked stand-ins for builtin types: `isinstance(x, dict)` still sees every dict."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, cls.__mro__[1])

    def __repr__(cls) -> str:
        return f"<class '{cls.__name__}'>"


def _stand_in(real: type, check: Callable[[tuple[Any, ...]], tuple[Any, ...]]) -> type:
    """`real` as scripts call it: the arguments are checked (and possibly read into lists) first; the result
    is a plain `real` value."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return real(*check(args), **kwargs)

    return _StandInType(real.__name__, (real,), {"__new__": __new__, "__slots__": (), "__module__": "builtins"})


def _check_str_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    if args:
        _check_walk(args[0], "str()")
        _check_decimal(args[0])
    return args


def _check_hashed_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    if args and not isinstance(args[0], dict):  # copying a dict re-uses its keys' hashes
        return (_check_keys(args[0], "building a collection"), *args[1:])
    return args


SAFE_BUILTINS: Mapping[str, Any] = types.MappingProxyType({
    "len": len, "min": _comparing(min), "max": _comparing(max), "sum": _builtin(_safe_sum, "sum"),
    "sorted": _comparing(sorted), "any": any, "all": all, "range": _builtin(_safe_range, "range"),
    "dict": _stand_in(dict, _check_hashed_args), "list": list, "tuple": tuple,
    "set": _stand_in(set, _check_hashed_args), "str": _stand_in(str, _check_str_args), "int": int,
    "float": float, "bool": bool, "round": _builtin(_safe_round, "round"), "abs": abs, "enumerate": enumerate,
    "zip": _builtin(_safe_zip, "zip"), "isinstance": isinstance, "None": None, "True": True, "False": False,
})


class _DecimalType(type):
    # Lets `isinstance(x, decimal.Decimal)` work inside scripts for every Decimal, whatever made it.
    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, decimal.Decimal)


class _Decimal(decimal.Decimal, metaclass=_DecimalType):
    """`decimal.Decimal` as scripts see it: refuses absurd exponents, returns a plain Decimal."""

    def __new__(cls, value: Any = "0", context: Any = None):
        number = decimal.Decimal(value)
        _check_decimal(number)
        return number


_Decimal.__name__ = _Decimal.__qualname__ = "Decimal"

# Arithmetic inside scripts: default precision, exponents bounded so int() of a result stays cheap.
DECIMAL_CONTEXT = decimal.Context(
    prec=28, Emax=DECIMAL_MAX_EXPONENT, Emin=-DECIMAL_MAX_EXPONENT,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)


def _math_function(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def checked(*args: Any) -> Any:
        for arg in args:
            _check_int(arg)
            _check_decimal(arg)
        if name in ("factorial", "comb", "perm") and any(
            isinstance(arg, int) and arg > MAX_FACTORIAL_ARG for arg in args
        ):
            _refuse(f"math.{name}() argument too large (limit {MAX_FACTORIAL_ARG})")
        if name in ("prod", "lcm"):
            numbers = list(args[0]) if name == "prod" and args else list(args)
            if sum(n.bit_length() for n in numbers if isinstance(n, int)) > MAX_INT_BITS:
                _refuse(f"math.{name}() result too large (limit {MAX_INT_BITS} bits)")
            args = (numbers, *args[1:]) if name == "prod" else tuple(numbers)
        return func(*args)

    checked.__name__ = checked.__qualname__ = name
    return checked


JST = clock.JST  # scripts' "now" is Japan time (service/clock.py holds the one definition)


class ClockedType:
    """`datetime.date` / `datetime.datetime` as scripts see them: the real type for everything (calling it,
    `fromisoformat`, constants), except that "now" comes from tejun's clock, so tests and replays can move
    time. Without a zone, "now" is Japan time: the procedure's deadlines are Japanese dates."""

    def __init__(self, real: type):
        self._real = real

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._real(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._real, name)

    def now(self, tz: datetime.tzinfo | None = None) -> datetime.datetime:
        moment = clock.now()
        return moment.astimezone(tz) if tz is not None else moment.astimezone(JST).replace(tzinfo=None)

    def today(self) -> Any:
        local = clock.now().astimezone(JST)
        return local.date() if self._real is datetime.date else local.replace(tzinfo=None)

    def utcnow(self) -> datetime.datetime:
        return clock.now().astimezone(datetime.UTC).replace(tzinfo=None)

    def __repr__(self) -> str:
        return f"<class 'datetime.{self._real.__name__}' (sandboxed)>"


# the stand-ins are read like the types they stand for
_DATA_TYPES = (*_DATA_TYPES, ClockedType)


def _module_namespaces() -> dict[str, Namespace]:
    math_members = {
        name: (_math_function(name, value) if callable(value) else value)
        for name, value in vars(math).items()
        if not name.startswith("_")
    }
    datetime_members = {
        name: getattr(datetime, name)
        for name in ("time", "timedelta", "timezone", "tzinfo", "MINYEAR", "MAXYEAR", "UTC")
    }
    datetime_members["date"] = ClockedType(datetime.date)
    datetime_members["datetime"] = ClockedType(datetime.datetime)
    decimal_members: dict[str, Any] = {"Decimal": _Decimal}
    decimal_members.update(
        {name: getattr(decimal, name) for name in dir(decimal) if name.startswith("ROUND_")}
    )
    return {
        "datetime": Namespace("datetime", datetime_members),
        "decimal": Namespace("decimal", decimal_members),
        "math": Namespace("math", math_members),
    }


MODULES = _module_namespaces()
_CLOCKED_DATETIME = vars(MODULES["datetime"])["datetime"]
_CLOCKED_DATE = vars(MODULES["datetime"])["date"]
# the only classes an attribute may hand to a script: the ones it is offered by name anyway
_OFFERED_TYPES = frozenset(
    value
    for value in (*SAFE_BUILTINS.values(), *(v for m in MODULES.values() for v in vars(m).values()))
    if isinstance(value, type)
)

HELPERS: Mapping[str, Any] = types.MappingProxyType({
    "_getattr_": _guarded_getattr,
    "_getitem_": _guarded_getitem,
    "_getiter_": _guarded_getiter,
    "_write_": _guarded_write,
    "_inplacevar_": _inplacevar,
    "_binop_": _binop,
    "_tick_": _tick,
    "_apply_": _apply,
    "_print_": _DiscardPrints,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_operand_": _operand,
    "_key_": _key,
    "_keys_": functools.partial(_check_keys, what="'{*...}'"),
    "_haystack_": _haystack,
    "_formatted_": _formatted,
})
# expressions (conditions, timers, decision cells) read data; only scripts change it
HELPERS_READONLY: Mapping[str, Any] = types.MappingProxyType({**HELPERS, "_getattr_": _readonly_getattr})


# --------------------------------------------------------------------------------------------------
# Run time: the watchdog
# --------------------------------------------------------------------------------------------------


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


try:
    import resource

    _PAGE_SIZE = resource.getpagesize()
except ImportError:  # pragma: no cover - not Linux
    _PAGE_SIZE = 4096


class Watchdog:
    """Trace function enforcing one call's deadline and a coarse ceiling on memory growth."""

    MEMORY_CHECK_INTERVAL = 0.005  # seconds; reading /proc costs a few microseconds

    def __init__(self, time_limit: float, memory_limit_mb: int | None):
        self.time_limit = time_limit
        now = time.monotonic()
        self.deadline = now + time_limit
        self.memory_limit = memory_limit_mb * 2**20 if memory_limit_mb else 0
        # Most calls end within microseconds: the baseline is only read once a call has run a while.
        self.rss_baseline: int | None = None
        self.next_memory_check = now + self.MEMORY_CHECK_INTERVAL if self.memory_limit else math.inf

    def check(self) -> None:
        now = time.monotonic()
        if now > self.deadline:
            raise SandboxTimeout(f"script ran longer than {self.time_limit} s")
        if now >= self.next_memory_check:
            self.next_memory_check = now + self.MEMORY_CHECK_INTERVAL
            rss = _rss_bytes()
            if rss is None:
                self.next_memory_check = math.inf  # no /proc: time limit only
            elif self.rss_baseline is None:
                self.rss_baseline = rss
            elif rss - self.rss_baseline > self.memory_limit:
                raise SandboxViolation(f"script used more than {self.memory_limit // 2**20} MB of memory")

    def on_call(self, frame: types.FrameType, event: str, arg: Any):
        code = frame.f_code
        if code is _TICK_CODE:
            self.check()
            return None
        return self.on_line if code.co_filename == SANDBOX_FILENAME else None

    def on_line(self, frame: types.FrameType, event: str, arg: Any):
        if event == "line":
            self.check()
        return self.on_line
