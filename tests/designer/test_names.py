"""Names catalogs (bpmn/names/): every element of the procedure a person reads has a name in both languages,
the designer's validation warns when one lacks the other language, and the diagram is drawn with them."""

from __future__ import annotations

import json
import re

from lxml import etree

from service.designer import names
from service.designer.store import read_model_dirs
from service.engine.loader import BPMN_NS
from tests.conftest import ROOT

CATALOGS = ROOT / "bpmn" / "names"

ONE_STEP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" name="{process}" isExecutable="true">
    <bpmn:startEvent id="start" name="{start}" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare" name="{flow}" />
    <bpmn:scriptTask id="prepare" name="{task}"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
  </bpmn:process>
</bpmn:definitions>"""


def model(**given) -> dict[str, bytes]:
    texts = {"process": "手続 (Procedure)", "start": "開始 start", "flow": "domestic", "task": "準備 (Prepare)"}
    return {"steps.bpmn": ONE_STEP.format(**{**texts, **given}).encode()}


def catalog(tmp_path, elements: dict) -> names.Catalog:
    (tmp_path / "steps.json").write_text(json.dumps({"elements": elements}, ensure_ascii=False))
    return names.load(tmp_path)


def test_every_element_of_the_procedure_a_person_reads_has_both_languages():
    files = {n: c for n, c in read_model_dirs(ROOT / "bpmn", ROOT / "forms").items() if n.endswith(".bpmn")}
    assert len(files) >= 10
    found = names.warnings(files, names.load(CATALOGS))
    assert not found, "add these to bpmn/names/<model>.json:\n" + "\n".join(map(str, found))
    every = names.load(CATALOGS)
    for stem, elements in every.files.items():
        for element_id, entry in elements.items():
            assert entry.get("ja") and entry.get("en"), (stem, element_id)
            assert "_" not in entry["en"], (stem, element_id, entry)  # a code is no English name


def test_a_name_in_one_language_is_warned_about_until_the_catalog_names_it(tmp_path):
    assert names.warnings(model(), names.Catalog(), codes={"domestic"}) == []  # bilingual names, a known code
    only_japanese = model(task="準備", flow="本人")
    found = names.warnings(only_japanese, names.Catalog(), codes={"domestic"})
    assert [(p.element_id, "English" in p.message) for p in found] == [("f1", True), ("prepare", True)]
    assert "names/steps.json" in found[0].message
    assert names.warnings(model(task="Prepare"), names.Catalog(), codes=set())[-1].message.count("Japanese") == 1
    assert names.warnings(model(task="準備 (partner_id)"), names.Catalog(), codes={"domestic"})  # a code in brackets
    researcher = {"ja": "本人", "en": "The researcher"}
    named = catalog(tmp_path, {"prepare": {"ja": "準備", "en": "Prepare"}, "f1": researcher})
    assert names.warnings(only_japanese, named, codes={"domestic"}) == []
    half = catalog(tmp_path, {"prepare": {"ja": "準備", "en": ""}, "f1": researcher})
    assert [p.element_id for p in names.warnings(only_japanese, half, codes={"domestic"})] == ["prepare"]


def test_the_diagram_is_drawn_with_the_catalogs_names_in_the_readers_language(tmp_path):
    named = catalog(tmp_path, {"prepare": {"ja": "準備", "en": "Prepare"}, "p": {"ja": "手続", "en": "Procedure"}})
    xml = model(task="準備")["steps.bpmn"]
    for lang, expected in (("ja", "準備"), ("en", "Prepare")):
        root = etree.fromstring(names.localize_xml(xml, lang, named, model="steps.bpmn"))
        shown = {n.get("id"): n.get("name") for n in root.iter(f"{{{BPMN_NS}}}*") if n.get("name")}
        assert shown["prepare"] == expected and shown["p"] == ("Procedure" if lang == "en" else "手続")
        assert shown["start"] == "開始 start"  # not in the catalog: left to the viewer's own splitting
    # another model's catalog does not name this one's elements
    assert b"Prepare" not in names.localize_xml(xml, "en", named, model="other.bpmn")


def test_the_procedures_data_inputs_are_named(tmp_path):
    """Data objects (a process's inputs and outputs) by their names, not their variable names."""
    every = names.load(CATALOGS)
    assert every.element("work_due_date", "ja", "member_disclosure.bpmn") == "作業の期限"
    assert every.element("work_due_date", "en", "member_disclosure.bpmn") == "Work due"


def test_models_validate_prints_the_warnings_without_failing(tmp_path):
    from click.testing import CliRunner

    from service.cli.models_cli import validate_command

    (tmp_path / "steps.bpmn").write_bytes(model(task="準備")["steps.bpmn"])
    quiet = CliRunner().invoke(validate_command, [str(tmp_path / "steps.bpmn")])
    assert quiet.exit_code == 0 and "warning" not in quiet.output  # no names folder: a set in one language
    (tmp_path / "names").mkdir()
    result = CliRunner().invoke(validate_command, [str(tmp_path / "steps.bpmn")])
    assert result.exit_code == 0 and "prepare: warning: the scriptTask '準備' has no English name" in result.output
    entry = {"elements": {"prepare": {"ja": "準備", "en": "Prepare"}}}
    (tmp_path / "names" / "steps.json").write_text(json.dumps(entry))
    again = CliRunner().invoke(validate_command, [str(tmp_path / "steps.bpmn")])
    assert "warning" not in again.output


def test_the_designers_validation_warns_of_a_name_in_one_language_and_stays_valid(app, svc, world):
    """The editor's "validate" lists, beside the problems, the elements of the procedure named in one language
    only; a warning, not a problem: the set stays valid and can be saved."""
    from service.designer.store import DEFAULT_SET, latest_published, version_files
    from tests.web.helpers import sign_in

    def json_post(client, path, body):
        return client.post(path, json=body, headers={"X-CSRFToken": client.csrf, "Accept": "application/json"})

    designer = sign_in(app, world, "designer")
    with svc.db.reader() as session:
        version_id = latest_published(session, DEFAULT_SET).id
        case_file = version_files(session, version_id)["research_security_case.bpmn"].decode()
    clean = json_post(designer, f"/designer/versions/{version_id}/validate", {"files": {}}).get_json()
    assert clean == {"valid": True, "errors": []}
    # a flow that had no name named only in Japanese
    unnamed = re.search(r'<bpmn:sequenceFlow id="([^"]+)" sourceRef=', case_file).group(1)
    edited = case_file.replace(f'<bpmn:sequenceFlow id="{unnamed}" ', f'<bpmn:sequenceFlow id="{unnamed}" name="次へ" ')
    answer = json_post(designer, f"/designer/versions/{version_id}/validate",
                       {"files": {"research_security_case.bpmn": edited}}).get_json()
    assert answer["valid"] is True and answer["errors"] == []
    assert [(w["file"], w["element_id"]) for w in answer["warnings"]] == [("research_security_case.bpmn", unnamed)]
    assert "no English name" in answer["warnings"][0]["message"]
