"""What the script sandbox measures in values (see `sandbox`): how much one C-level walk over a value would do,
and whether a value is data a case may keep.

* A single C call that walks a value (`str()`, `==`, `sorted()`, `set()`, f-strings) cannot be interrupted by
  the deadline tracer, and a list repeating one item (`[s] * 10**6`) makes it do far more than the memory the
  value takes. `walk_problem` counts what the walk would visit, every reference again, and says why it is too
  much before the call is made. With `hashing`, it measures hashing instead: tuples and frozensets are hashed
  recursively by C code without a depth check (a tuple nested 100,000 deep crashes the interpreter), so
  nesting is bounded too.
* `data_problem` says why a value is not data: scripts may leave only JSON data in a case (dict with text
  keys, list, text, integer, finite number, true/false, null), at most `MAX_DATA_DEPTH` deep and
  `MAX_DATA_SIZE` items and characters; anything else (functions, modules, classes, dates, decimals, sets)
  would break the case's saved state, its events or a replay.
"""

from __future__ import annotations

import datetime
import decimal
import math
from collections.abc import Iterable
from typing import Any

MAX_WALK = 1_000_000  # items and characters one C-level walk (str(), ==, sorted(), set()) may visit
MAX_DATA_DEPTH = 100  # nesting of data and of hashed values
MAX_DATA_SIZE = 1_000_000  # items and characters a script may leave in a case's data (about 1 MB of JSON)
_BULK = 32  # lists at least this long whose items are all of one plain type are measured in C
MAX_DATA_INT_BITS = 14_000  # JSON text of larger integers exceeds Python's 4,300-digit conversion limit

_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))
# what walks look into; everything else counts as one item (numbers, dates, ...)
WALKED = frozenset({list, tuple, dict, set, frozenset, *_VIEWS})
_SEQUENCE_LIKE = frozenset({list, tuple, set, frozenset})
_HASHED_DEEP = frozenset({tuple, frozenset})
_LEAVES = frozenset({str, int, float, bool, type(None)})
# what evaluated expressions may return besides JSON data: values compared or handed to timers and DMN
_EXPRESSION_LEAVES = frozenset({
    decimal.Decimal, datetime.date, datetime.datetime, datetime.time, datetime.timedelta,
})


def walk_problem(value: Any, budget: int = MAX_WALK, *, hashing: bool = False) -> str | None:
    """Why one C-level walk over `value` would be too much (None when it is not).

    Strings count their characters (comparing or printing them reads every one), containers their items, each
    time they are referenced. With `hashing`, `value` is a collection whose items get hashed: only tuples and
    frozensets inside them are walked (strings cache their hash, lists and dicts cannot be hashed).
    """
    if hashing:
        if type(value) in _VIEWS:
            value = value.mapping
        items = value.keys() if isinstance(value, dict) else value
        return _hash_walk(items, budget)
    total = 0
    stack = [(value, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        kind = type(item)
        if kind in _VIEWS:
            item, kind = item.mapping, dict
        if kind is dict:
            total += 2 * len(item) + 1
            children: Iterable[Any] = (*item.keys(), *item.values()) if total <= budget else ()
        elif kind in _SEQUENCE_LIKE:
            total += len(item) + 1
            children = item if total <= budget else ()
            if len(item) >= _BULK and total <= budget:
                kinds = set(map(type, item))
                if kinds.isdisjoint(WALKED):  # nothing nested: count the characters in C
                    if kinds == {str}:
                        total += sum(map(len, item))
                    elif str in kinds:
                        total += sum(len(child) for child in item if type(child) is str)
                    children = ()
        elif kind is str or kind is bytes:
            total += len(item)
            continue
        else:
            total += 1
            continue
        if total > budget:
            return f"the value is too large to walk ({budget} items and characters at most)"
        if depth >= MAX_DATA_DEPTH:
            return f"the value is nested more than {MAX_DATA_DEPTH} levels deep"
        for child in children:
            child_kind = type(child)
            if child_kind is str:
                total += len(child)
            elif child_kind in WALKED:
                push((child, depth + 1))
        if total > budget:
            return f"the value is too large to walk ({budget} items and characters at most)"
    return None


def _hash_walk(items: Iterable[Any], budget: int) -> str | None:
    total = 0
    stack = [(item, 1) for item in items if type(item) in _HASHED_DEEP]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        total += len(item) + 1
        if total > budget:
            return f"the key is too large to hash ({budget} items at most)"
        if depth > MAX_DATA_DEPTH:
            return f"the key is nested more than {MAX_DATA_DEPTH} levels deep"
        for child in item:
            if type(child) in _HASHED_DEEP:
                push((child, depth + 1))
    return None


def key_problem(key: Any) -> str | None:
    """Why hashing `key` (a dict key, a set member) would be too much."""
    return _hash_walk((key,), MAX_WALK) if type(key) in _HASHED_DEEP else None


def _describe(value: Any) -> str:
    kind = type(value)
    if kind.__name__ in ("module", "Namespace"):
        return "a module"
    if isinstance(value, type) or kind.__name__ == "ClockedType":
        return "a class"
    if callable(value):
        return "a function"
    if isinstance(value, datetime.date | datetime.time):
        return f"a {kind.__name__} (store it as text: .isoformat())"
    if isinstance(value, decimal.Decimal):
        return "a Decimal (store it as text: str(...))"
    if isinstance(value, set | frozenset):
        return "a set (store a list: sorted(...))"
    if isinstance(value, float):
        return f"the number {value} (JSON has no NaN or infinity)"
    if isinstance(value, int):
        return f"an integer of {value.bit_length()} bits (limit {MAX_DATA_INT_BITS})"
    return f"a {kind.__name__} object"


def _path(parts: list[Any]) -> str:
    return "".join(f"[{part!r}]" for part in parts)


def data_problem(value: Any, budget: int = MAX_DATA_SIZE, *, expression: bool = False) -> tuple[str | None, int]:
    """Why `value` is not data a case may keep (None when it is), and the items and characters it counts.

    The problem says where it is (`at [0]['f']`, relative to `value`). With `expression`, dates, times,
    decimals, sets and non-finite numbers pass too: what an expression may hand to a gateway, a timer or
    a decision table.
    """
    size = _data_size(value, budget, expression)
    if size >= 0:
        return None, size
    found = _find_problem(value, [], 0, expression) if size == _NOT_DATA else None
    if found is None:
        return f"more than {MAX_DATA_SIZE} items and characters of data", budget + 1
    problem, parts = found
    return (f"{problem} at {_path(parts)}" if parts else problem), budget + 1


_NONE = type(None)
_NOT_DATA, _TOO_BIG = -1, -2


def _data_size(value: Any, budget: int, expression: bool) -> int:
    """The size of `value` as data, or -1 when it is not data (the fast pass: no places, no messages)."""
    containers = _SEQUENCE_LIKE | {dict} if expression else frozenset({list, tuple, dict})
    extra = _EXPRESSION_LEAVES if expression else frozenset()
    total = 0
    stack = [(value, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        kind = type(item)
        if kind is dict:
            total += 2 * len(item) + 1
            for key in item:
                if type(key) is str:
                    total += len(key)
                elif not (type(key) in (int, bool, _NONE) and (key is None or -_BIG_KEY < key < _BIG_KEY)):
                    return -1
            children: Iterable[Any] = item.values()
        elif kind in containers:
            total += len(item) + 1
            children = item
            if len(item) >= _BULK and total <= budget and depth < MAX_DATA_DEPTH:
                bulk = _bulk_size(item, expression)
                if bulk is not None:
                    if bulk < 0:
                        return -1
                    total += bulk
                    if total > budget:
                        return _TOO_BIG
                    continue
        else:
            children = (item,)  # a leaf at the top
            depth -= 1
        if total > budget:
            return _TOO_BIG
        if depth >= MAX_DATA_DEPTH:
            return _NOT_DATA
        for child in children:
            kind = type(child)
            if kind is str:
                total += len(child)
            elif kind is int:
                total += 1
                if not -_BIG_INT < child < _BIG_INT:
                    return -1
            elif kind is bool or child is None:
                total += 1
            elif kind is float:
                total += 1
                if child - child != 0.0 and not expression:  # NaN, infinity
                    return -1
            elif kind in containers:
                push((child, depth + 1))
            elif kind in extra:
                total += 1
            else:
                return -1
        if total > budget:
            return _TOO_BIG
    return total


_BIG_INT = 1 << MAX_DATA_INT_BITS
_BIG_KEY = 1 << 63


def _bulk_size(items: Iterable[Any], expression: bool) -> int | None:
    """Extra size of a long list of one plain type, measured in C (-1: not data; None: mixed, walk it)."""
    kinds = set(map(type, items))
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    if kind is str:
        return sum(map(len, items))
    if kind is int:
        return 0 if min(items) > -_BIG_INT and max(items) < _BIG_INT else -1
    if kind is float:
        return 0 if expression or all(map(math.isfinite, items)) else -1
    if kind is bool or kind is _NONE:
        return 0
    return None


def _find_problem(value: Any, parts: list[Any], depth: int, expression: bool,
                  visited: list[int] | None = None) -> tuple[str, list[Any]] | None:
    """The first thing in `value` that is not data, and where (the slow pass, only after the fast one failed)."""
    visited = visited if visited is not None else [0]
    kind = type(value)
    if depth > MAX_DATA_DEPTH:
        return f"data nested more than {MAX_DATA_DEPTH} levels deep", parts
    if kind is dict:
        visited[0] += len(value)
        if visited[0] > MAX_DATA_SIZE:
            return "something that is not JSON data", parts
        for key, child in value.items():
            key_kind = type(key)
            if not (key_kind in (str, bool, _NONE) or (key_kind is int and -_BIG_KEY < key < _BIG_KEY)):
                return f"a key that is {_describe(key)}", parts
            found = _find_problem(child, [*parts, key], depth + 1, expression, visited)
            if found:
                return found
        return None
    if kind in (_SEQUENCE_LIKE if expression else (list, tuple)):
        visited[0] += len(value)
        if visited[0] > MAX_DATA_SIZE:
            return "something that is not JSON data", parts
        bulk = _bulk_size(value, expression) if len(value) >= _BULK else None
        if bulk is not None and bulk >= 0:
            return None
        for index, child in enumerate(value):
            found = _find_problem(child, [*parts, index], depth + 1, expression, visited)
            if found:
                return found
        return None
    if kind in (str, bool, _NONE) or (expression and kind in _EXPRESSION_LEAVES):
        return None
    if kind is int:
        return (_describe(value), parts) if not -_BIG_INT < value < _BIG_INT else None
    if kind is float:
        return (_describe(value), parts) if value - value != 0.0 and not expression else None
    return _describe(value), parts
