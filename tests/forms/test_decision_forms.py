"""The shipped forms (forms/*.schema.json) where fields belong to one choice: a decision, a yes/no, a listed
relation. Such fields are declared in the choice's own branch (`allOf: [{if: <choice>, then: {properties,
required}}]`), so the form library shows them only once that choice is made and the server requires them only
then. Declarations (consent, "accurate and complete", "consent obtained") render unticked and are refused until
ticked: `{"type": "boolean", "not": {"const": false}}`. Neither `const: true` (the form library fills it in: ticked)
nor `enum: [true]` (the library re-ticks an unticked box on the next change, replacing a value outside a one-value
enum) does that.

Each choice found in a form must have a minimal valid submission per value below: a new decision value, or a new
choice with fields of its own, fails here until it has one.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from service.forms.schema import FieldError, expand_references, validate

FORMS = Path(__file__).resolve().parents[2] / "forms"
SCHEMAS = sorted(FORMS.glob("*.schema.json"))
DATE = "2026-04-01"


def _provider(name):
    lists = {
        "technology_areas": ["3", "9", "14"],
        "mitigation_catalog": ["M1", "M5", "M7", "M99"],
        "risk_levels": ["L1", "L2", "L3", "L4"],
        "institutions": [11, 12],
        "ministries": [21, 22],
        "funding_agencies": [31],
    }
    return [(value, {"ja": str(value), "en": str(value)}) for value in lists[name]]


@cache
def _expanded(name: str) -> str:
    return json.dumps(expand_references(json.loads((FORMS / name).read_text(encoding="utf-8")), _provider, "ja"))


def expanded(name: str) -> dict:
    return json.loads(_expanded(name))


def ui_schema(name: str) -> dict:
    return json.loads((FORMS / name.replace(".schema.json", ".uischema.json")).read_text(encoding="utf-8"))


def at(schema: dict, pointer: str) -> dict:
    """The sub-schema of the data at `pointer` (`/a/[]/b`: `[]` = the items of an array)."""
    for part in pointer.strip("/").split("/"):
        schema = schema["items"] if part == "[]" else schema["properties"][part]
    return schema


def _values(prop: dict) -> list:
    if prop.get("type") == "boolean":
        return [True, False]
    if "enum" in prop:
        return list(prop["enum"])
    return [option["const"] for option in prop.get("oneOf", [])]


def choices(schema: dict, pointer: str = "") -> list[tuple[str, str]]:
    """(object pointer, property) of every choice some `if` of the object depends on."""
    found = []
    conditions = [e for e in schema.get("allOf", []) if "if" in e] + ([schema] if "if" in schema else [])
    for entry in conditions:
        for name in entry["if"].get("properties", {}):
            if (pointer, name) not in found:
                found.append((pointer, name))
    for name, sub in (schema.get("properties") or {}).items():
        found += choices(sub, f"{pointer}/{name}")
    if isinstance(schema.get("items"), dict):
        found += choices(schema["items"], f"{pointer}/[]")
    return found


def branches(obj: dict, data: dict) -> list[dict]:
    """The branches (then / else) of an object schema that apply to `data`: what the form library merges in."""
    taken = []
    for entry in [e for e in obj.get("allOf", []) if "if" in e] + ([obj] if "if" in obj else []):
        branch = entry.get("then") if Draft7Validator(entry["if"]).is_valid(data) else entry.get("else")
        if isinstance(branch, dict):
            taken.append(branch)
    return taken


def shown(obj: dict, data: dict) -> set[str]:
    """The fields the form shows for `data`: its own and those of the branches that apply."""
    fields = set(obj.get("properties") or {})
    for branch in branches(obj, data):
        fields |= set(branch.get("properties") or {})
    return fields


def required(obj: dict, data: dict) -> set[str]:
    names = set(obj.get("required") or [])
    for branch in branches(obj, data):
        names |= set(branch.get("required") or [])
    return names


ROW = {"subject_id": "M1", "subject_type": "person", "lists_checked": ["meti_end_user_list"], "screened_on": DATE}
MEASURE = {"target": "M1", "owner": "研究推進部", "due_date": "2027-03-31"}
REVIEW = "fa_review.schema.json", "/fa_review", "decision"

# (form, object, choice) -> {value: (a minimal valid object, the fields this value adds to the form)};
# the value "*" stands for any value not listed (a measure from the catalog, a match status without fields)
MINIMAL: dict[tuple[str, str, str], dict] = {
    REVIEW: {
        "accept": ({"decision": "accept"}, {"conditions"}),
        "request_information": ({"decision": "request_information", "questions": "データの保管場所は？"},
                                {"questions", "response_due_date"}),
        "consult_ministry": ({"decision": "consult_ministry", "ministry_organization_id": 21,
                              "consultation_question": "輸出管理上の懸念はあるか"},
                             {"ministry_organization_id", "consultation_question", "consultation_summary",
                              "shared_documents", "response_due_date"}),
        "request_additional_mitigation": ({"decision": "request_additional_mitigation",
                                           "requested_measures": [{"detail": "多要素認証の導入"}]},
                                          {"requested_measures", "response_due_date"}),
        "not_accept": ({"decision": "not_accept", "reasons": "説明が不十分"}, {"reasons"}),
    },
    ("follow_up_confirmation.schema.json", "/follow_up_confirmation", "decision"): {
        "confirmed": ({"decision": "confirmed"}, set()),
        "additional_measures_required": ({"decision": "additional_measures_required",
                                          "requested_measures": [{"measure": "M7", "detail": "多要素認証"}]},
                                         {"requested_measures", "response_due_date"}),
    },
    ("institutional_approval.schema.json", "/institutional_approval", "decision"): {
        "approve": ({"decision": "approve", "approved_on": DATE}, set()),
        "return": ({"decision": "return", "approved_on": DATE, "return_to": "assessment", "comments": "再評価を"},
                   {"return_to"}),
    },
    ("late_case_decision.schema.json", "/late_case_decision", "decision"): {
        "extend": ({"decision": "extend", "reason": "病気療養", "new_deadline": "2027-01-31"}, {"new_deadline"}),
        "not_accept": ({"decision": "not_accept", "reason": "連絡がない"}, set()),
    },
    ("additional_mitigation_approval.schema.json", "/additional_mitigation_approval", "decision"): {
        "approve": ({"decision": "approve"}, set()),
        "return": ({"decision": "return", "comments": "期限を明記"}, set()),
    },
    ("designation_approval.schema.json", "/designation_approval", "decision"): {
        "approve": ({"decision": "approve", "decided_on": DATE}, set()),
        "return": ({"decision": "return", "decided_on": DATE, "comments": "理由を補足"}, set()),
        "reject": ({"decision": "reject", "decided_on": DATE, "comments": "対象外"}, set()),
    },
    ("fa_outcome_approval.schema.json", "/fa_outcome_approval", "approved"): {
        True: ({"approved": True}, set()),
        False: ({"approved": False, "comments": "再検討を"}, set()),
    },
    ("mitigation_feasibility.schema.json", "/mitigation_feasibility", "feasible"): {
        True: ({"feasible": True, "confirmed_on": DATE}, set()),
        False: ({"feasible": False, "confirmed_on": DATE, "comments": "人員不足"}, set()),
    },
    ("additional_feasibility.schema.json", "/additional_feasibility", "feasible"): {
        True: ({"feasible": True, "confirmed_on": DATE}, set()),
        False: ({"feasible": False, "confirmed_on": DATE, "comments": "予算が足りない"}, set()),
    },
    ("partner_assessment_review.schema.json", "/partner_assessment_review", "override"): {
        True: ({"override": True, "mitigation_needed": True, "overridden_level": "L3", "override_reason": "海外兼業"},
               set()),  # the level and reason stay on the form; they are required only with an override
        False: ({"override": False, "mitigation_needed": False}, set()),
    },
    ("assessment_review.schema.json", "/assessment_review", "override"): {
        True: ({"override": True, "mitigation_needed": True, "overridden_level": "L3", "override_reason": "共同研究先"},
               {"overridden_level", "override_reason"}),
        False: ({"override": False, "mitigation_needed": False}, set()),
    },
    ("disclosure.schema.json", "/disclosure/disciplinary_history", "has_history"): {
        True: ({"has_history": True, "details": "2019年 研究費の不適切使用"}, {"details"}),
        False: ({"has_history": False}, set()),
    },
    ("disclosure.schema.json", "/disclosure/restricted_list", "past_listed_affiliation"): {
        True: ({"currently_listed_affiliation": False, "listed_funding": False, "past_listed_affiliation": True,
                "past_affiliation_end_year": 2018, "ties_to_listed_researchers": False},
               {"past_affiliation_end_year"}),
        False: ({"currently_listed_affiliation": False, "listed_funding": False, "past_listed_affiliation": False,
                 "ties_to_listed_researchers": False}, set()),
    },
    ("follow_up_report.schema.json", "/follow_up_report", "reassessment_required"): {
        True: ({"trigger_kind": "member_added", "measures_status": [], "reassessment_required": True},
               {"reassessment_scope"}),
        False: ({"trigger_kind": "periodic", "measures_status": [], "reassessment_required": False}, set()),
    },
    ("managed_data.schema.json", "/managed_data_inventory", "inventory_unchanged"): {
        True: ({"inventory_unchanged": True}, set()),
        False: ({"inventory_unchanged": False, "items": []}, {"items"}),
    },
    ("program_designation.schema.json", "/program_designation/designation", "scope"): {
        "whole_program": ({"scope": "whole_program", "technology_areas": ["9"], "rationale": "量子技術"}, set()),
        "some_projects": ({"scope": "some_projects", "technology_areas": ["9"], "rationale": "量子技術",
                           "projects": [{"title": "量子中継器"}]}, {"projects"}),
    },
    ("team_roster.schema.json", "/roster/project", "export_controlled"): {
        True: ({"title": "量子センサ", "export_controlled": True, "dual_use": False,
                "export_control_classification": "該当（2項）"}, {"export_control_classification"}),
        False: ({"title": "量子センサ", "export_controlled": False, "dual_use": False}, set()),
    },
    ("screening_results.schema.json", "/screening_results/results/[]", "match_status"): {
        "*": ({**ROW, "match_status": "no_match"}, set()),
        "confirmed_match": ({**ROW, "match_status": "confirmed_match", "listed_relation": "current_funding"}, set()),
    },
    ("screening_results.schema.json", "/screening_results/results/[]", "listed_relation"): {
        "*": ({**ROW, "match_status": "possible_match", "listed_relation": "none"}, set()),
        "past_affiliation": ({**ROW, "match_status": "confirmed_match", "listed_relation": "past_affiliation",
                              "past_affiliation_end_year": 2020}, {"past_affiliation_end_year"}),
    },
    ("additional_mitigation.schema.json", "/additional_mitigation/measures/[]", "measure"): {
        "*": ({"measure": "M5", **MEASURE}, set()),
        "M99": ({"measure": "M99", "description": "独自の入構管理", **MEASURE}, set()),
    },
    ("mitigation_plan.schema.json", "/mitigation_plan/measures/[]", "measure"): {
        "*": ({"measure": "M5", **MEASURE}, set()),
        "M99": ({"measure": "M99", "description": "独自の入構管理", **MEASURE}, set()),
    },
}
MINIMAL[("partner_due_diligence.schema.json", "/partner_due_diligence/team_screening/[]", "match_status")] = \
    MINIMAL[("screening_results.schema.json", "/screening_results/results/[]", "match_status")]
MINIMAL[("partner_due_diligence.schema.json", "/partner_due_diligence/team_screening/[]", "listed_relation")] = \
    MINIMAL[("screening_results.schema.json", "/screening_results/results/[]", "listed_relation")]
# a list decides by being there, not by a value: naming affected subjects lifts "at least one measure" (the
# schema's if/else, driven in tests/procedure/test_additional_rounds.py); no value to enumerate here
MINIMAL[("additional_mitigation.schema.json", "/additional_mitigation", "affected_subjects")] = {}
MINIMAL[("partner_mitigation_plan.schema.json", "/partner_mitigation_plan/measures/[]", "measure")] = \
    MINIMAL[("mitigation_plan.schema.json", "/mitigation_plan/measures/[]", "measure")]


def _cases():
    for path in SCHEMAS:
        for pointer, name in choices(expanded(path.name)):
            obj = at(expanded(path.name), pointer)
            for value in _values(obj["properties"][name]):
                yield pytest.param(path.name, pointer, name, value, id=f"{path.stem}{pointer}.{name}={value}")


def _decision_forms():
    return [p.name for p in SCHEMAS if any(name == "decision" for _, name in choices(expanded(p.name)))]


def test_every_choice_of_every_form_has_minimal_submissions():
    found = {(path.name, pointer, name) for path in SCHEMAS for pointer, name in choices(expanded(path.name))}
    assert found == set(MINIMAL)
    assert set(_decision_forms()) == {"fa_review.schema.json", "follow_up_confirmation.schema.json",
                                      "institutional_approval.schema.json", "late_case_decision.schema.json",
                                      "additional_mitigation_approval.schema.json",
                                      "designation_approval.schema.json"}


@pytest.mark.parametrize(("form", "pointer", "name", "value"), list(_cases()))
def test_each_value_of_a_choice_has_a_minimal_valid_submission_showing_only_its_fields(form, pointer, name, value):
    obj = at(expanded(form), pointer)
    table = MINIMAL[(form, pointer, name)]
    data, own_fields = table[value] if value in table else table["*"]
    data = copy.deepcopy(data)
    data[name] = value
    assert validate(obj, data) == []
    # the form shows this value's own fields and no other value's
    assert shown(obj, data) - set(obj["properties"]) == own_fields
    # each field the value requires is refused when left out, with a pointer at the field
    for field in sorted(required(obj, data) - {name}):
        fewer = {k: v for k, v in data.items() if k != field}
        assert FieldError(f"/{field}", f"{field!r} is a required property", "required") in validate(obj, fewer)


@pytest.mark.parametrize("form", _decision_forms())
def test_a_decision_form_is_valid_with_each_decision_and_nothing_else(form):
    """The whole form, as the page submits it: the decision and the fields the decision requires, nothing more."""
    schema = expanded(form)
    (root,) = schema["properties"]
    for value in _values(schema["properties"][root]["properties"]["decision"]):
        data, _ = MINIMAL[(form, f"/{root}", "decision")][value]
        assert validate(schema, {root: data}) == [], value


def test_the_fa_accepts_without_measures_and_must_name_one_to_ask_for_more():
    schema = expanded(REVIEW[0])
    assert validate(schema, {"fa_review": {"decision": "accept"}}) == []
    assert validate(schema, {"fa_review": {"decision": "accept", "conditions": "年1回の報告"}}) == []
    asking = {"decision": "request_additional_mitigation"}
    assert validate(schema, {"fa_review": asking}) == [
        FieldError("/fa_review/requested_measures", "'requested_measures' is a required property", "required")]
    assert [(e.pointer, e.keyword) for e in validate(schema, {"fa_review": {**asking, "requested_measures": []}})] \
        == [("/fa_review/requested_measures", "minItems")]
    assert [(e.pointer, e.keyword)
            for e in validate(schema, {"fa_review": {**asking, "requested_measures": [{"measure": "M7"}]}})] \
        == [("/fa_review/requested_measures/0/detail", "required")]
    not_accepting = validate(schema, {"fa_review": {"decision": "not_accept", "reasons": ""}})
    assert [(e.pointer, e.keyword) for e in not_accepting] == [("/fa_review/reasons", "minLength")]


def test_a_decisions_fields_are_listed_after_it_in_the_page():
    ui = ui_schema(REVIEW[0])["fa_review"]
    assert ui["ui:order"][0] == "decision" and ui["ui:order"][-1] == "*"
    review = at(expanded(REVIEW[0]), REVIEW[1])
    every = set().union(*(shown(review, {"decision": v}) for v in _values(review["properties"]["decision"])))
    assert every - set(review["properties"]) <= set(ui["ui:order"])


# -- declarations ---------------------------------------------------------------------------------------------
def declarations(schema: dict, pointer: str = "") -> list[str]:
    """Pointers (`[]` for array items) of the booleans that may only be true."""
    found = []
    for name, sub in (schema.get("properties") or {}).items():
        if sub.get("type") == "boolean" and (sub.get("const") is True or sub.get("enum") == [True]
                                             or sub.get("not") == {"const": False}):
            found.append(f"{pointer}/{name}")
        found += declarations(sub, f"{pointer}/{name}")
    if isinstance(schema.get("items"), dict):
        found += declarations(schema["items"], f"{pointer}/[]")
    return found


DECLARATIONS = [pytest.param(p.name, d, id=f"{p.stem}{d}") for p in SCHEMAS for d in declarations(expanded(p.name))]


def test_the_declarations_are_the_ones_people_make():
    assert sorted((form, pointer) for form, pointer in (d.values for d in DECLARATIONS)) == [
        ("deadline_warning.schema.json", "/deadline_warning_acknowledgement/acknowledged"),
        ("disclosure.schema.json", "/disclosure/certification/certified"),
        ("disclosure.schema.json", "/disclosure/certification/consent"),
        ("follow_up_report.schema.json", "/follow_up_report/new_members/[]/consent_obtained"),
        ("follow_up_report.schema.json", "/follow_up_report/new_partners/[]/members/[]/consent_obtained"),
        ("partner_due_diligence.schema.json", "/partner_due_diligence/certification/certified"),
        ("team_roster.schema.json", "/roster/members/[]/consent_obtained"),
        ("team_roster.schema.json", "/roster/partners/[]/members/[]/consent_obtained"),
    ]


@pytest.mark.parametrize(("form", "pointer"), DECLARATIONS)
def test_a_declaration_renders_unticked_and_is_refused_until_ticked(form, pointer):
    parent, name = pointer.rsplit("/", 1)
    obj = at(expanded(form), parent)
    field = obj["properties"][name]
    assert "const" not in field and "enum" not in field and "default" not in field
    assert field == {**field, "type": "boolean", "not": {"const": False}}
    ui = ui_schema(form)
    for part in pointer.strip("/").split("/"):
        ui = ui.get("items" if part == "[]" else part, {})
    assert ui.get("ui:widget") == "checkbox"
    assert name in obj["required"]
    assert FieldError(f"/{name}", f"{name!r} is a required property", "required") in validate(obj, {})
    assert (f"/{name}", "not") in {(e.pointer, e.keyword) for e in validate(obj, {name: False})}
    assert f"/{name}" not in {e.pointer for e in validate(obj, {name: True})}
