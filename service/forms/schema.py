"""JSON Schema for task forms: checking schemas, validating submissions, languages and reference lists.

* The validator class follows the schema's `$schema` (draft-04, -06, -07, 2019-09, 2020-12). A schema
  without `$schema` is treated as **draft-07**: the browser form library (rjsf) targets it, and
  python-jsonschema's own default (2020-12) misreads draft-07 tuple `items`.
* Errors carry JSON pointers into the submitted data (`/members/0/email`); a missing required property
  points at the property itself, which is where a form shows the message.
* `x-i18n` (see docs/modeling.md) holds per-language `title` / `description` / `enumNames`; Japanese is the
  base text. `x-reference` names a reference-data list filled in when a form is served or validated.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import referencing
import referencing.exceptions
import referencing.jsonschema
from jsonschema import FormatChecker, validators
from jsonschema.exceptions import ValidationError

BASE_LANGUAGE = "ja"
DEFAULT_DIALECT = "http://json-schema.org/draft-07/schema#"

_DIALECTS = {
    "http://json-schema.org/draft-04/schema": validators.Draft4Validator,
    "http://json-schema.org/draft-06/schema": validators.Draft6Validator,
    "http://json-schema.org/draft-07/schema": validators.Draft7Validator,
    "https://json-schema.org/draft/2019-09/schema": validators.Draft201909Validator,
    "https://json-schema.org/draft/2020-12/schema": validators.Draft202012Validator,
}

KNOWN_REFERENCE_LISTS = frozenset({"technology_areas", "mitigation_catalog", "risk_levels", "institutions",
                                   "ministries", "funding_agencies"})

# Keywords whose values are schemas (or maps/lists of schemas): the only places x-i18n and x-reference
# are looked for, so data such as `default` or `const` is never rewritten.
_SUBSCHEMA = ("additionalProperties", "additionalItems", "contains", "not", "if", "then", "else",
              "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs", "dependentSchemas")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_LOCALIZED_KEYS = ("title", "description", "enumNames")
_BASE_URI = "urn:tejun:form"


class SchemaProblem(ValueError):
    """A schema cannot be used as given (unknown dialect, unknown reference list, ...)."""


@dataclass(frozen=True)
class FieldError:
    pointer: str  # JSON pointer into the submitted data; "" is the whole form
    message: str
    keyword: str  # the JSON Schema keyword that failed (required, format, type, ...)


# --------------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------------

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)
_TIME = re.compile(r"\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_ERAD = re.compile(r"\d{8}", re.ASCII)

# jsonschema's checkers, with stricter date/time/email (its date-time needs an optional package) and ours
FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("date")
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE.fullmatch(value):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


@FORMAT_CHECKER.checks("date-time")
def _is_date_time(value: object) -> bool:
    """RFC 3339 date-time: a full date, a time and an explicit offset (`Z` or `+09:00`)."""
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.fullmatch(value):
        return False
    try:
        datetime.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@FORMAT_CHECKER.checks("time")
def _is_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _TIME.fullmatch(value):
        return False
    try:
        datetime.time.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@FORMAT_CHECKER.checks("email")
def _is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(_EMAIL.fullmatch(value))


@FORMAT_CHECKER.checks("erad-researcher-number")
def _is_erad_researcher_number(value: object) -> bool:
    """e-Rad researcher number: exactly eight digits."""
    return not isinstance(value, str) or bool(_ERAD.fullmatch(value))


# --------------------------------------------------------------------------------------------------
# Validators
# --------------------------------------------------------------------------------------------------


def dialect(schema: Mapping[str, Any]) -> str:
    """The schema's `$schema`, normalized (no trailing `#`), or the draft-07 default."""
    declared = schema.get("$schema", DEFAULT_DIALECT) if isinstance(schema, Mapping) else DEFAULT_DIALECT
    return str(declared).rstrip("#")


def validator_class(schema: Mapping[str, Any]):
    try:
        return _DIALECTS[dialect(schema)]
    except KeyError:
        raise SchemaProblem(
            f"unsupported $schema {schema.get('$schema')!r}; use draft-04, -06, -07, 2019-09 or 2020-12"
        ) from None


def pointer(path: Iterable[Any]) -> str:
    """JSON pointer (RFC 6901) for a path of keys and indexes."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


class _ValidatorCache:
    """Compiled validators keyed by schema identity, with a content hash behind it."""

    def __init__(self, size: int = 256):
        self.size = size
        self.by_id: OrderedDict[int, tuple[Any, Any]] = OrderedDict()
        self.by_hash: OrderedDict[str, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, schema: Mapping[str, Any]):
        key = id(schema)
        with self.lock:
            hit = self.by_id.get(key)
            if hit is not None and hit[0] is schema:  # holding the schema keeps its id from being reused
                self.by_id.move_to_end(key)
                return hit[1]
        digest = hashlib.sha256(json.dumps(schema, sort_keys=True, default=str).encode()).hexdigest()
        with self.lock:
            validator = self.by_hash.get(digest)
        if validator is None:
            cls = validator_class(schema)
            # an empty registry: `$ref`s never fetch anything over the network
            validator = cls(schema, format_checker=FORMAT_CHECKER, registry=referencing.Registry())
        with self.lock:
            self.by_hash[digest] = validator
            self.by_hash.move_to_end(digest)
            self.by_id[key] = (schema, validator)
            for cache in (self.by_hash, self.by_id):
                while len(cache) > self.size:
                    cache.popitem(last=False)
        return validator


_VALIDATORS = _ValidatorCache()


def compiled(schema: Mapping[str, Any]):
    """The (cached) jsonschema validator for `schema`. Treat schemas as immutable once used."""
    return _VALIDATORS.get(schema)


# --------------------------------------------------------------------------------------------------
# Checking schemas and validating data
# --------------------------------------------------------------------------------------------------


def check_schema(schema: Any) -> list[str]:
    """Problems with a form schema itself, each as `"<pointer into the schema>: <message>"`."""
    if not isinstance(schema, Mapping):
        return [f": a schema must be a JSON object, not {type(schema).__name__}"]
    try:
        cls = validator_class(schema)
    except SchemaProblem as exc:
        return [f"/$schema: {exc}"]
    meta = validators.validator_for(cls.META_SCHEMA, default=cls)(cls.META_SCHEMA, format_checker=FORMAT_CHECKER)
    try:
        problems = [
            f"{pointer(error.absolute_path)}: {error.message}"
            for error in sorted(meta.iter_errors(schema), key=lambda e: list(map(str, e.absolute_path)))
        ]
    except RecursionError:
        return [": schema is nested too deeply"]
    return problems + _reference_problems(schema)


def _missing_names(error: ValidationError) -> list[str]:
    """For required / dependency errors: the property names the error is about."""
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    if error.validator == "required":
        candidates = error.validator_value
    elif error.validator in ("dependencies", "dependentRequired"):
        candidates = [name for names in error.validator_value.values() if isinstance(names, list) for name in names]
    else:
        return []
    return [name for name in candidates if isinstance(name, str) and name not in instance
            and (f"{name!r} is a required property" == error.message or f"{name!r} is a dependency" in error.message)]


def _unexpected_names(error: ValidationError) -> list[str]:
    """For `additionalProperties: false`: the property names that are not allowed."""
    if error.validator != "additionalProperties" or error.validator_value is not False:
        return []
    instance, schema = error.instance, error.schema
    if not isinstance(instance, Mapping) or not isinstance(schema, Mapping):
        return []
    known = schema.get("properties") or {}
    patterns = list(schema.get("patternProperties") or {})
    found = []
    for name in instance:
        if name in known:
            continue
        try:
            if any(re.search(p, name) for p in patterns):
                continue
        except (re.error, TypeError):
            return []
        found.append(str(name))
    return found


def validate(schema: Mapping[str, Any], data: Any) -> list[FieldError]:
    """Every way `data` fails `schema`, with pointers into the data. Empty when the data is valid."""
    errors = []
    for error in compiled(schema).iter_errors(data):
        path = list(error.absolute_path)
        extra = _unexpected_names(error)
        if extra:  # each field that is not allowed, where it is
            errors += [FieldError(pointer([*path, name]), f"unknown field '{name}'", "additionalProperties")
                       for name in extra]
            continue
        missing = _missing_names(error)
        if missing:
            path.append(missing[0])
        errors.append(FieldError(pointer(path), error.message, str(error.validator)))
    return sorted(set(errors), key=lambda e: (e.pointer, e.keyword, e.message))


# --------------------------------------------------------------------------------------------------
# Languages
# --------------------------------------------------------------------------------------------------


def _languages(lang: str) -> list[str]:
    lang = (lang or BASE_LANGUAGE).replace("_", "-")
    return [lang, lang.split("-")[0]] if "-" in lang else [lang]


def _subschemas(node: dict[str, Any]) -> Iterable[tuple[tuple[Any, ...], dict[str, Any]]]:
    """(relative path, sub-schema) for every sub-schema directly inside `node`."""
    for key in _SUBSCHEMA:
        if isinstance(node.get(key), dict):
            yield (key,), node[key]
    for key in (*_SUBSCHEMA_MAPS, "dependencies"):
        if isinstance(node.get(key), dict):
            for name, value in node[key].items():
                if isinstance(value, dict):  # `dependencies` may also hold lists of names
                    yield (key, name), value
    for key in (*_SUBSCHEMA_LISTS, "items"):
        value = node.get(key)
        if isinstance(value, dict):
            yield (key,), value
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    yield (key, index), item


def _walk(node: Any, visit: Callable[[dict[str, Any], tuple[Any, ...]], None], path: tuple[Any, ...] = ()) -> None:
    """Call `visit(schema, path)` on `node` and every sub-schema in it (children after the parent)."""
    if isinstance(node, dict):
        visit(node, path)
        for suffix, child in list(_subschemas(node)):
            _walk(child, visit, path + suffix)


def localize(schema: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """A copy of `schema` with texts in `lang` (falling back to the Japanese base) and no `x-i18n`."""
    result = copy.deepcopy(dict(schema))
    wanted = _languages(lang)

    def apply(node: dict[str, Any], _path: tuple[Any, ...]) -> None:
        translations = node.pop("x-i18n", None)
        if not isinstance(translations, Mapping):
            return
        for language in wanted:
            texts = translations.get(language)
            if isinstance(texts, Mapping):
                node.update({key: copy.deepcopy(texts[key]) for key in _LOCALIZED_KEYS if key in texts})
                return

    _walk(result, apply)
    return result


def _pick_language(value: Any, wanted: Sequence[str]) -> Any:
    """`{"ja": ..., "en": ...}` -> the text for the wanted language; anything else unchanged."""
    if not (isinstance(value, Mapping) and value and BASE_LANGUAGE in value):
        return value
    if not all(re.fullmatch(r"[a-z]{2}(-[A-Za-z]{2,4})?", str(k)) for k in value):
        return value
    if not all(isinstance(v, str) or (isinstance(v, list) and all(isinstance(i, str) for i in v))
               for v in value.values()):
        return value
    for language in wanted:
        if language in value:
            return value[language]
    return value[BASE_LANGUAGE]


def localize_ui(ui_schema: Any, lang: str) -> Any:
    """A copy of a UI schema with every `{"ja": ..., "en": ...}` text resolved to one language."""
    wanted = [*_languages(lang), BASE_LANGUAGE]

    def resolve(node: Any) -> Any:
        if isinstance(node, Mapping):
            picked = _pick_language(node, wanted)
            if picked is not node:
                return copy.deepcopy(picked)
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(ui_schema)


def label(text: Any, lang: str) -> str:
    """One label from `{"ja": ..., "en": ...}` (or a plain string)."""
    if isinstance(text, Mapping):
        for language in [*_languages(lang), BASE_LANGUAGE]:
            if text.get(language):
                return str(text[language])
        return str(next(iter(text.values()), ""))
    return "" if text is None else str(text)


# --------------------------------------------------------------------------------------------------
# Reference lists
# --------------------------------------------------------------------------------------------------

Provider = Callable[[str], Iterable[tuple[Any, Mapping[str, str] | str]]]


def _reference_problems(schema: Mapping[str, Any]) -> list[str]:
    """Unknown x-reference lists and $refs that cannot be resolved inside the schema itself."""
    problems: list[str] = []
    spec = referencing.jsonschema.specification_with(dialect(schema) + "#", default=referencing.jsonschema.DRAFT7)
    resolver = referencing.Registry().with_resource(_BASE_URI, spec.create_resource(schema)).resolver(_BASE_URI)

    def visit(node: dict[str, Any], path: tuple[Any, ...]) -> None:
        name = node.get("x-reference")
        if name is not None and name not in KNOWN_REFERENCE_LISTS:
            known = ", ".join(sorted(KNOWN_REFERENCE_LISTS))
            problems.append(f"{pointer(path)}/x-reference: unknown reference list {name!r} (known: {known})")
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith("#"):
                problems.append(f"{pointer(path)}/$ref: only references inside the form schema (#/...) are allowed")
            else:
                try:
                    resolver.lookup(ref)
                except referencing.exceptions.Unresolvable:
                    problems.append(f"{pointer(path)}/$ref: {ref!r} points to nothing in this schema")

    _walk(dict(schema), visit)
    return problems


def expand_references(schema: Mapping[str, Any], provider: Provider, lang: str) -> dict[str, Any]:
    """A copy of `schema` with each `"x-reference": "<list>"` replaced by the list's allowed values.

    On a string schema the values become `oneOf: [{"const": value, "title": label}]`; on an array they go
    on its `items`. Labels are taken in `lang`. Unknown list names raise `SchemaProblem`.
    """
    result = copy.deepcopy(dict(schema))
    draft4 = dialect(result).endswith("draft-04/schema")  # draft-04 has no `const`

    def visit(node: dict[str, Any], _path: tuple[Any, ...]) -> None:
        name = node.pop("x-reference", None)
        if name is None:
            return
        if name not in KNOWN_REFERENCE_LISTS:
            raise SchemaProblem(f"unknown reference list {name!r} (known: {', '.join(sorted(KNOWN_REFERENCE_LISTS))})")
        try:
            entries = list(provider(name))
        except LookupError:
            raise SchemaProblem(f"reference list {name!r} is not available") from None
        choices = [
            {"enum": [value]} if draft4 else {"const": value}
            for value, _text in entries
        ]
        for choice, (_value, text) in zip(choices, entries, strict=True):
            choice["title"] = label(text, lang)
        target = node
        if node.get("type") == "array" or "items" in node:
            target = node["items"] if isinstance(node.get("items"), dict) else node.setdefault("items", {})
        if choices:
            target["oneOf"] = choices
        else:
            target["not"] = {}  # an empty list allows nothing

    _walk(result, visit)
    return result
