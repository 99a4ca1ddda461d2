"""Form schemas: dialects, pointers, formats, languages and reference lists; rjsf's playground samples."""

from __future__ import annotations

import json

import pytest

from service.forms import schema as forms
from service.forms.schema import (
    FieldError,
    SchemaProblem,
    check_schema,
    expand_references,
    localize,
    localize_ui,
    validate,
)
from tests.corpora import CORPORA

SAMPLES = CORPORA / "rjsf-samples"
SAMPLE_FILES = sorted(p for p in SAMPLES.glob("*.json") if not p.name.startswith("_"))
# formData that is invalid before rjsf fills in defaults (see the folder's _manifest.json)
INVALID_SAMPLES = {
    "simple.json": {("/firstName", "required")},
    "nullable.json": {("/firstName", "required")},
    "oneOf.json": {("", "oneOf")},
    "ifThenElse.json": {("/animal", "required"), ("/food", "required"), ("/water", "required")},
    "references.json": {("/contact", "oneOf")},
}


def test_every_rjsf_sample_is_found():
    assert len(SAMPLE_FILES) == 16


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_rjsf_samples_check_and_validate_as_expected(path):
    sample = json.loads(path.read_text())
    assert check_schema(sample["schema"]) == []
    errors = validate(sample["schema"], sample.get("formData", {}))
    assert {(e.pointer, e.keyword) for e in errors} == INVALID_SAMPLES.get(path.name, set())
    for error in errors:
        assert error.message


def test_schemas_without_dialect_are_draft_07_so_tuple_items_work():
    sample = json.loads((SAMPLES / "arrays.json").read_text())
    assert forms.validator_class(sample["schema"]).__name__ == "Draft7Validator"
    data = dict(sample["formData"], fixedItemsList=["text", "not a boolean"])
    (error,) = validate(sample["schema"], data)
    assert error.pointer == "/fixedItemsList/1" and error.keyword == "type"


@pytest.mark.parametrize(
    ("dialect", "name"),
    [
        ("http://json-schema.org/draft-04/schema#", "Draft4Validator"),
        ("http://json-schema.org/draft-06/schema#", "Draft6Validator"),
        ("http://json-schema.org/draft-07/schema#", "Draft7Validator"),
        ("http://json-schema.org/draft-07/schema", "Draft7Validator"),
        ("https://json-schema.org/draft/2019-09/schema", "Draft201909Validator"),
        ("https://json-schema.org/draft/2020-12/schema", "Draft202012Validator"),
    ],
)
def test_the_dialect_comes_from_dollar_schema(dialect, name):
    assert forms.validator_class({"$schema": dialect}).__name__ == name


def test_an_unknown_dialect_is_a_schema_problem():
    (problem,) = check_schema({"$schema": "https://example.com/my-dialect", "type": "object"})
    assert problem.startswith("/$schema: unsupported $schema")
    with pytest.raises(SchemaProblem):
        validate({"$schema": "https://example.com/my-dialect"}, {})


def test_schema_problems_carry_pointers():
    problems = check_schema({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"age": {"type": "integr"}, "tags": {"type": "array", "minItems": -1}},
        "required": "age",
    })
    assert any(p.startswith("/properties/age/type: ") for p in problems)
    assert any(p.startswith("/properties/tags/minItems: ") for p in problems)
    assert any(p.startswith("/required: ") for p in problems)
    assert check_schema(["not", "an", "object"]) == [": a schema must be a JSON object, not list"]


def test_refs_must_stay_inside_the_schema_and_resolve():
    problems = check_schema({
        "definitions": {"a": {"type": "string"}},
        "properties": {
            "ok": {"$ref": "#/definitions/a"},
            "dangling": {"$ref": "#/definitions/missing"},
            "remote": {"$ref": "https://example.com/schema.json"},
        },
    })
    assert problems == [
        "/properties/dangling/$ref: '#/definitions/missing' points to nothing in this schema",
        "/properties/remote/$ref: only references inside the form schema (#/...) are allowed",
    ]


MEMBERS = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["members"],
    "properties": {
        "members": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "email"],
                "properties": {
                    "name": {"type": "string"},
                    "email": {"type": "string", "format": "email"},
                    "erad": {"type": "string", "format": "erad-researcher-number"},
                    "joined": {"type": "string", "format": "date"},
                    "seen": {"type": "string", "format": "date-time"},
                    "roles": {"type": "array", "items": {"type": "array", "items": {"enum": ["pi", "co"]}}},
                },
            },
        },
        "a/b": {"type": "integer"},
        "c~d": {"type": "integer"},
    },
}


def test_errors_point_into_nested_arrays_and_at_missing_properties():
    data = {
        "members": [
            {"name": "Sato", "email": "sato@example.jp", "erad": "12345678", "joined": "2026-04-01",
             "seen": "2026-04-01T09:00:00+09:00", "roles": [["pi"]]},
            {"name": "Kim", "roles": [["pi", "boss"]]},
            {"email": "kim", "erad": "1234567", "joined": "2026-02-30", "seen": "2026-04-01 09:00"},
        ],
        "a/b": "x",
        "c~d": "y",
    }
    errors = validate(MEMBERS, data)
    assert errors == sorted(errors, key=lambda e: (e.pointer, e.keyword, e.message))
    found = {(e.pointer, e.keyword) for e in errors}
    assert found == {
        ("/members/1/email", "required"),
        ("/members/1/roles/0/1", "enum"),
        ("/members/2/name", "required"),
        ("/members/2/email", "format"),
        ("/members/2/erad", "format"),
        ("/members/2/joined", "format"),
        ("/members/2/seen", "format"),
        ("/a~1b", "type"),
        ("/c~0d", "type"),
    }
    assert FieldError("/members/1/email", "'email' is a required property", "required") in errors


def test_a_missing_top_level_property_points_at_itself():
    assert validate(MEMBERS, {}) == [FieldError("/members", "'members' is a required property", "required")]


def test_dependency_errors_point_at_the_missing_property():
    schema = {"type": "object", "dependencies": {"card": ["billing"]}}
    (error,) = validate(schema, {"card": "x"})
    assert error.pointer == "/billing" and error.keyword == "dependencies"
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "dependentRequired": {"card": ["billing"]}}
    (error,) = validate(schema, {"card": "x"})
    assert error.pointer == "/billing" and error.keyword == "dependentRequired"


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("date", ["2026-06-30"], ["2026-6-30", "2026-02-30", "30/06/2026", "2026-06-30T00:00:00Z"]),
        ("date-time", ["2026-06-30T09:00:00+09:00", "2026-06-30T00:00:00Z", "2026-06-30T00:00:00.5z"],
         ["2026-06-30", "2026-06-30T09:00:00", "2026-13-01T00:00:00Z", "tomorrow"]),
        ("email", ["a@example.jp", "first.last+tag@sub.example.org"], ["a", "a@b", "a @b.jp", "a@b@c.jp"]),
        ("erad-researcher-number", ["12345678", "00000001"], ["1234567", "123456789", "1234567a", "１２３４５６７８"]),
    ],
)
def test_formats_are_checked(fmt, good, bad):
    schema = {"type": "string", "format": fmt}
    for value in good:
        assert validate(schema, value) == [], value
    for value in bad:
        assert [e.keyword for e in validate(schema, value)] == ["format"], value


def test_validators_are_compiled_once_per_schema():
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    first = forms.compiled(schema)
    assert forms.compiled(schema) is first
    assert forms.compiled(json.loads(json.dumps(schema))) is first  # same content, same validator


DISCLOSURE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "title": "開示",
    "x-i18n": {"en": {"title": "Disclosure"}},
    "properties": {
        "erad": {"type": "string", "title": "研究者番号", "description": "8桁",
                 "x-i18n": {"en": {"title": "e-Rad researcher number", "description": "8 digits"}}},
        "status": {"type": "string", "enum": ["a", "b"], "enumNames": ["有", "無"],
                   "x-i18n": {"en": {"enumNames": ["Yes", "No"]}, "fr": {"title": "Statut"}}},
        "kind": {"oneOf": [{"const": "x", "title": "種別X", "x-i18n": {"en": {"title": "Kind X"}}}]},
        "plain": {"type": "string", "title": "日本語のみ", "default": {"x-i18n": "data, not a schema"}},
        "areas": {"type": "array", "items": {"type": "string", "x-reference": "technology_areas"}},
        "level": {"type": "string", "x-reference": "risk_levels"},
        "institutions": {"type": "array", "x-reference": "institutions"},
    },
}


def test_localize_picks_the_language_and_falls_back_to_japanese():
    english = localize(DISCLOSURE, "en")
    assert english["title"] == "Disclosure"
    assert english["properties"]["erad"]["title"] == "e-Rad researcher number"
    assert english["properties"]["erad"]["description"] == "8 digits"
    assert english["properties"]["status"]["enumNames"] == ["Yes", "No"]
    assert english["properties"]["kind"]["oneOf"][0]["title"] == "Kind X"
    assert english["properties"]["plain"]["title"] == "日本語のみ"
    assert english["properties"]["plain"]["default"] == {"x-i18n": "data, not a schema"}
    assert "x-i18n" not in json.dumps(english).replace('"x-i18n": "data', "")
    japanese = localize(DISCLOSURE, "ja")
    assert japanese["title"] == "開示" and japanese["properties"]["status"]["enumNames"] == ["有", "無"]
    assert localize(DISCLOSURE, "en-GB")["title"] == "Disclosure"
    assert localize(DISCLOSURE, "de")["title"] == "開示"
    assert DISCLOSURE["x-i18n"] == {"en": {"title": "Disclosure"}}  # the original is untouched
    assert check_schema(english) == []


def test_localize_ui_resolves_language_maps_only():
    ui = {
        "ui:order": ["erad", "*"],
        "erad": {"ui:help": {"ja": "8桁の番号", "en": "Eight digits"}, "ui:placeholder": "12345678"},
        "status": {"ui:enumNames": {"ja": ["有", "無"], "en": ["Yes", "No"]}},
        "name": {"ja": {"ui:widget": "textarea"}, "en": {"ui:widget": "text"}},  # fields called ja / en
        "note": {"ui:options": {"label": {"ja": "備考", "en": "Note"}, "rows": 3}},
        "only_ja": {"ui:title": {"ja": "日本語"}},
    }
    english = localize_ui(ui, "en")
    assert english["erad"] == {"ui:help": "Eight digits", "ui:placeholder": "12345678"}
    assert english["status"]["ui:enumNames"] == ["Yes", "No"]
    assert english["name"] == ui["name"]
    assert english["note"]["ui:options"] == {"label": "Note", "rows": 3}
    assert english["only_ja"]["ui:title"] == "日本語"
    assert english["ui:order"] == ["erad", "*"]
    assert localize_ui(ui, "ja")["erad"]["ui:help"] == "8桁の番号"


def _provider(name):
    lists = {
        "technology_areas": [("3", {"ja": "量子", "en": "Quantum"}), ("9", {"ja": "宇宙", "en": "Space"})],
        "risk_levels": [("high", {"ja": "高", "en": "High"})],
        "institutions": [(12, {"ja": "東京大学", "en": "University of Tokyo"})],
        "ministries": [],
    }
    return lists[name]


def test_references_expand_to_labelled_choices():
    expanded = expand_references(DISCLOSURE, _provider, "en")
    props = expanded["properties"]
    assert props["areas"]["items"]["oneOf"] == [{"const": "3", "title": "Quantum"}, {"const": "9", "title": "Space"}]
    assert props["level"]["oneOf"] == [{"const": "high", "title": "High"}]
    assert props["institutions"]["items"]["oneOf"] == [{"const": 12, "title": "University of Tokyo"}]
    assert "x-reference" not in json.dumps(expanded)
    assert expand_references(DISCLOSURE, _provider, "ja")["properties"]["level"]["oneOf"][0]["title"] == "高"
    assert check_schema(expanded) == []
    assert validate(expanded, {"areas": ["3"], "level": "high", "institutions": [12]}) == []
    assert [e.pointer for e in validate(expanded, {"areas": ["4"], "level": "low"})] == ["/areas/0", "/level"]


def test_references_in_draft_04_use_enum_and_empty_lists_allow_nothing():
    schema = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
              "properties": {"m": {"type": "string", "x-reference": "risk_levels"},
                             "n": {"type": "string", "x-reference": "ministries"}}}
    expanded = expand_references(schema, _provider, "en")
    assert expanded["properties"]["m"]["oneOf"] == [{"enum": ["high"], "title": "High"}]
    assert validate(expanded, {"m": "high"}) == []
    assert [e.pointer for e in validate(expanded, {"n": "anything"})] == ["/n"]


def test_unknown_reference_lists_are_clear_errors():
    schema = {"type": "string", "x-reference": "colours"}
    with pytest.raises(SchemaProblem, match="unknown reference list 'colours'"):
        expand_references(schema, _provider, "en")
    (problem,) = check_schema({"properties": {"c": schema}})
    assert problem.startswith("/properties/c/x-reference: unknown reference list 'colours'")

    def empty_provider(name):
        raise KeyError(name)

    with pytest.raises(SchemaProblem, match="'risk_levels' is not available"):
        expand_references({"type": "string", "x-reference": "risk_levels"}, empty_provider, "en")
