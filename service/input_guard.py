"""Input rules, checked once per request before any handler runs (docs/security.md, "Input rules").

Bad input is a 4xx, never a 500, on SQLite and PostgreSQL alike:

* **Text** in query strings, form fields, uploaded file names, path parameters and JSON bodies (keys and
  values) may not contain NUL (PostgreSQL refuses it in `text` and `jsonb`) or a lone UTF-16 surrogate
  (it cannot be stored as UTF-8). Query strings and form fields are decoded by Werkzeug, which already turns
  bytes that are not UTF-8 into U+FFFD; JSON's `\\ud800` escapes are what can still bring surrogates in.
* **JSON bodies** are parsed by `loads`: no `NaN` / `Infinity` (not JSON, and PostgreSQL's `jsonb` refuses
  them), no number that overflows a float (`1e400`), no integer outside 64 bits (such a number is no id,
  count or amount tejun stores; the check comes before Python converts the digits, so a 5000-digit number
  costs nothing), and at most `MAX_JSON_DEPTH` levels of nesting (no form nests more than a few levels;
  the depth is checked before anything walks the data recursively).
* **Integers in query strings and forms** (`request.args.get(name, type=int)`): a number outside the
  32-bit range of the database's ids is refused (400) instead of reaching the database, which would refuse
  it with an error (PostgreSQL) or an overflow (SQLite). Ids in paths are bounded the same way by the `int`
  converter (`service/app.py`, `DatabaseId`): larger ids match no route (404).

API requests (and the pages' JSON endpoints) get a problem: 400 for a body that is no acceptable JSON, 422
with a pointer per bad value (`/q`, `/payload/trigger/member/name`). Pages get the error page (400).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import Request, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest

MAX_JSON_DEPTH = 64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# ids are 32-bit integer columns (DatabaseId in service/app.py); a page number or id beyond is refused
ID_MAX = 2**31 - 1
_MAX_INT_DIGITS = len(str(INT64_MAX))
_BAD_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)


class BadValue(ValueError):
    """One value that may not come in: where (a JSON pointer into the request's data) and why."""

    def __init__(self, pointer: str, message: str):
        super().__init__(message)
        self.pointer = pointer
        self.message = message


# -- JSON ---------------------------------------------------------------------------------------------------
def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise ValueError("an integer in the JSON body is outside the 64-bit range")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("an integer in the JSON body is outside the 64-bit range")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number in the JSON body is too large")
    return value


def loads(text: str | bytes | bytearray, **_ignored) -> Any:
    """Parse JSON strictly (see the module's rules); anything refused is a ValueError."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode(json.detect_encoding(text))  # not UTF-8/16/32: UnicodeDecodeError
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_int=_integer, parse_float=_float)
    except RecursionError:
        raise ValueError(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels") from None
    _check_depth(value)
    return value


def _check_depth(value: Any) -> None:
    """Refuse more than MAX_JSON_DEPTH levels of arrays and objects (without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def _escape(key: str) -> str:
    return _BAD_CHARACTERS.sub("\ufffd", str(key)).replace("~", "~0").replace("/", "~1")


def _text_problem(text: str) -> str | None:
    found = _BAD_CHARACTERS.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "NUL characters are not allowed"
    return "lone surrogate characters (not Unicode text) are not allowed"


def bad_strings(value: Any, pointer: str = "") -> list[BadValue]:
    """Every string (key or value) of already parsed JSON data that holds NUL or a lone surrogate."""
    found: list[BadValue] = []
    stack = [(value, pointer)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            problem = _text_problem(node)
            if problem:
                found.append(BadValue(where, problem))
        elif isinstance(node, dict):
            for key, child in node.items():
                problem = _text_problem(key)
                if problem:
                    found.append(BadValue(f"{where}/{_escape(key)}", "a key: " + problem))
                stack.append((child, f"{where}/{_escape(key)}"))
        elif isinstance(node, list):
            stack.extend((child, f"{where}/{index}") for index, child in enumerate(node))
    return sorted(found, key=lambda bad: bad.pointer)


def parse_text(text: str) -> Any:
    """JSON typed into a page (e.g. a disclosure profile): parsed strictly, its strings checked too."""
    value = loads(text)
    found = bad_strings(value)
    if found:
        raise found[0]
    return value


# -- integers in query strings and forms ---------------------------------------------------------------------
class BoundedMultiDict(ImmutableMultiDict):
    """Query and form values: `get(name, type=int)` refuses (400) numbers outside the range of ids."""

    def get(self, key, default=None, type=None):  # noqa: A002
        if type is int:
            try:
                raw = self[key]
            except KeyError:
                return default
            return _bounded(key, raw, default)
        return super().get(key, default=default, type=type)

    def getlist(self, key, type=None):  # noqa: A002
        if type is int:
            values = []
            for raw in super().getlist(key):
                value = _bounded(key, raw, None)
                if value is not None:
                    values.append(value)
            return values
        return super().getlist(key, type=type)


def _bounded(key: str, raw: str, default):
    if not isinstance(raw, str) or not _INTEGER.fullmatch(raw):
        return default  # not a number: as if it were absent (what `type=int` always did)
    digits = raw.strip().lstrip("+-").lstrip("0")
    if len(digits) > _MAX_INT_DIGITS or not -ID_MAX <= int(raw) <= ID_MAX:
        raise BadRequest(f"'{key}' is outside the range of numbers tejun accepts")
    return int(raw)


class GuardedRequest(Request):
    parameter_storage_class = BoundedMultiDict


class StrictJSONProvider(DefaultJSONProvider):
    """`request.get_json()` parses with `loads` too (the guard has parsed the body once already)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)


# -- the guard -------------------------------------------------------------------------------------------------
def _from_multidict(values, found: list[BadValue]) -> None:
    for key, value in values.items(multi=True):
        problem = _text_problem(key)
        if problem:
            found.append(BadValue("/" + _escape(key), "a parameter name: " + problem))
            continue
        problem = _text_problem(value) if isinstance(value, str) else None
        if problem:
            found.append(BadValue("/" + _escape(key), problem))


def check_request():
    """`before_request`: refuse what no handler should see (None lets the request through)."""
    path_values = [(name, value) for name, value in (request.view_args or {}).items() if isinstance(value, str)]
    if any(_text_problem(name) or _text_problem(value) for name, value in path_values):
        return _refusal(400, "Bad request", "the address contains characters that are not allowed")
    found: list[BadValue] = []
    _from_multidict(request.args, found)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        _from_multidict(request.form, found)
        for key, upload in request.files.items(multi=True):
            problem = _text_problem(upload.filename or "")
            if problem:
                found.append(BadValue("/" + _escape(key), "the file name: " + problem))
    raw = request.get_data(cache=True) if request.is_json else b""
    if raw.strip():  # a GET saying its (absent) body is JSON has nothing to check
        try:
            body = loads(raw)
        except ValueError as exc:
            return _refusal(400, "Invalid JSON body", str(exc))
        found += bad_strings(body)
    if found:
        errors = [{"pointer": bad.pointer, "message": bad.message} for bad in found]
        return _refusal(422, "Unprocessable Entity", f"{len(errors)} field(s) need attention", errors)
    return None


def _refusal(status: int, title: str, detail: str, errors: list[dict] | None = None):
    from .api.problems import problem, wants_problem

    if wants_problem():
        return problem(status, title, detail, errors=errors)
    from .web.errors import page_for

    return page_for(BadRequest(detail))
