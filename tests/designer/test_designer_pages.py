"""The designer's pages and JSON endpoints (service/web/designer.py), through the real app and its sign-in.

Each test works on a model set of its own (the loop model with its diagram), so the default set that other
tests start cases on is never touched.
"""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from service.cases import commands, migration
from service.designer import versions
from service.models import Case, ModelVersion, WorkItem
from tests.conftest import DATA
from tests.corpora import CORPORA
from tests.web import helpers
from tests.web.helpers import post, post_json

MODELS = DATA / "models"


def _files(folder: str = "loop_diagram") -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (MODELS / folder).iterdir()}


def sign_in(app, world, who: str):
    return helpers.sign_in(app, world, who, lang="en")


@pytest.fixture
def line(svc, world):
    """A set of its own with v1 (loop with diagram) published; returns (set name, v1 id)."""
    designer = world.actor("designer")
    set_name = f"pages-{world.tag}"
    v1, _ = versions.upload_draft(svc, designer, _files(), "first version", set_name=set_name)
    versions.publish(svc, designer, v1)
    return set_name, v1


@pytest.fixture
def designer(app, world):
    return sign_in(app, world, "designer")


def _start(svc, world, set_name, n=1):
    return [commands.start_case(svc, world.actor("security"), call_id=world.call_id, lead_institution_id=world.lead_id,
                                title=f"secret title {i}", process_id="loop_case", model_set=set_name).case_id
            for i in range(n)]


def _to_review(svc, world, case_id):
    with svc.db.reader() as session:
        (item,) = session.scalars(select(WorkItem).where(WorkItem.case_id == case_id)).all()
    commands.complete_task(svc, world.actor("security"), item.task_id, {"summary": "s"})


def _v2_files() -> dict[str, bytes]:
    """loop_diagram plus a confirm step (v2 of the loop) and a note field on the review form."""
    files = _files()
    bpmn = files["loop.bpmn"].decode()
    bpmn = bpmn.replace('<bpmn:flowNodeRef>count_round</bpmn:flowNodeRef>',
                        '<bpmn:flowNodeRef>count_round</bpmn:flowNodeRef><bpmn:flowNodeRef>confirm</bpmn:flowNodeRef>')
    bpmn = bpmn.replace('<bpmn:sequenceFlow id="f3" sourceRef="count_round" targetRef="review" />',
                        '<bpmn:sequenceFlow id="f3" sourceRef="count_round" targetRef="confirm" />'
                        '<bpmn:userTask id="confirm" name="Confirm"><bpmn:extensionElements><spiffworkflow:properties>'
                        '<spiffworkflow:property name="formJsonSchemaFilename" value="edit.schema.json" />'
                        '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>'
                        '<bpmn:sequenceFlow id="f3b" sourceRef="confirm" targetRef="review" />')
    bpmn = bpmn.replace('<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>',
                        '<bpmn:incoming>f3b</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>')
    files["loop.bpmn"] = bpmn.encode()
    files["review.schema.json"] = files["review.schema.json"].replace(
        b'"decision": {', b'"note": {"type": "string", "title": "Note"}, "decision": {')
    return files


# -- who may see the pages ------------------------------------------------------------------------------


def _routes(app, v1: int, job_id: int) -> list[tuple[str, str]]:
    """Every designer route with its arguments filled in."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("designer."):
            continue
        path = rule.rule
        path = path.replace("<int:version_id>", str(v1)).replace("<int:job_id>", str(job_id))
        path = path.replace("<path:name>", "loop.bpmn").replace("<set_name>", "x")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


def test_every_designer_route_is_hidden_from_everyone_but_designers(app, svc, world, line):
    set_name, v1 = line
    job_id = migration.request_bulk(svc, world.actor("designer"), _start(svc, world, set_name, 2), v1)
    routes = _routes(app, v1, job_id)
    assert len(routes) >= 16
    anonymous = app.test_client()
    for method, path in routes:
        response = anonymous.open(path, method=method)
        assert response.status_code in (302, 400), (method, path, response.status_code)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]
    for who in ("fa_manager", "security", "auditor", "researcher"):
        client = sign_in(app, world, who)
        for method, path in routes:
            response = (client.open(path, method=method, data={"csrf_token": client.csrf})
                        if method == "POST" else client.get(path))
            assert response.status_code == 404, (who, method, path, response.status_code)
        assert "Process models" not in client.get("/").get_data(as_text=True)  # no link in the menu either
    for who in ("designer", "sysadmin"):
        client = sign_in(app, world, who)
        assert client.get("/designer/").status_code == 200
        assert "Process models" in client.get("/").get_data(as_text=True)


def test_json_endpoints_refuse_non_designers_as_problem_json(app, world, line):
    _set_name, v1 = line
    client = sign_in(app, world, "fa_officer")
    response = post_json(client, f"/designer/versions/{v1}/validate", {"files": {}})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_writes_need_the_csrf_token(designer, line):
    _set_name, v1 = line
    assert designer.post(f"/designer/versions/{v1}/retire").status_code == 400
    assert designer.post(f"/designer/versions/{v1}/validate", json={"files": {}}).status_code == 400


# -- the model store ------------------------------------------------------------------------------------


def test_store_pages_show_versions_with_hash_author_status_and_running_cases(svc, world, designer, line):
    set_name, v1 = line
    _start(svc, world, set_name, 3)
    v2, _ = versions.upload_draft(svc, world.actor("designer"), _v2_files(), "confirm step", set_name=set_name)
    index = designer.get("/designer/").get_data(as_text=True)
    assert set_name in index
    page = designer.get(f"/designer/sets/{set_name}").get_data(as_text=True)
    with svc.db.reader() as session:
        h1, h2 = (session.get(ModelVersion, v).content_hash for v in (v1, v2))
    assert h1[:12] in page and h2[:12] in page
    assert "first version" in page and "confirm step" in page
    assert "designer" in page  # the author
    rows = dict(re.findall(r'data-version="(\d+)".*?class="tejun-running">(\d+)<', page, re.S))
    assert rows == {str(v1): "3", str(v2): "0"}
    assert "new cases start here" in page and "Draft" in page and "Published" in page

    version_page = designer.get(f"/designer/versions/{v2}").get_data(as_text=True)
    for name in ("loop.bpmn", "edit.schema.json", "review.schema.json"):
        assert f"/designer/versions/{v2}/files/{name}" in version_page
    assert h2 in version_page
    content = designer.get(f"/designer/versions/{v2}/files/loop.bpmn")
    assert content.status_code == 200 and b'id="confirm"' in content.data
    assert content.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert designer.get(f"/designer/versions/{v2}/files/nothing.json").status_code == 404
    assert designer.get("/designer/sets/no-such-set").status_code == 404
    assert designer.get("/designer/versions/999999").status_code == 404


def test_publish_and_retire_buttons(svc, world, designer, line):
    set_name, v1 = line
    (old_case,) = _start(svc, world, set_name)
    v2, _ = versions.upload_draft(svc, world.actor("designer"), _v2_files(), "v2", set_name=set_name)
    response = post(designer, f"/designer/versions/{v2}/publish", follow_redirects=True)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"Version #{v2} is published" in text and "1 running case(s) on other versions stay" in text
    (new_case,) = _start(svc, world, set_name)
    with svc.db.reader() as session:
        assert session.get(Case, old_case).model_version_id == v1
        assert session.get(Case, new_case).model_version_id == v2
    again = post(designer, f"/designer/versions/{v2}/publish", follow_redirects=True)
    assert "already published" in again.get_data(as_text=True)
    post(designer, f"/designer/versions/{v1}/retire")
    with svc.db.reader() as session:
        assert session.get(ModelVersion, v1).status == "retired"
    assert post(designer, "/designer/versions/999999/retire").status_code == 404


def test_diff_lists_changed_elements_and_forms_and_marks_the_diagram(svc, world, designer, line):
    set_name, v1 = line
    v2, _ = versions.upload_draft(svc, world.actor("designer"), _v2_files(), "v2", set_name=set_name)
    page = designer.get(f"/designer/diff?old={v1}&new={v2}").get_data(as_text=True)
    assert re.search(r'data-element-change="added">Confirm <code>confirm</code>', page)  # name and id
    assert re.search(r'data-file-change="changed">loop.bpmn<', page)
    assert re.search(r'data-file-change="changed">review.schema.json<', page)
    assert re.search(r"data-forms-changed>review.schema.json<", page)
    assert '"added": ["confirm"' in page.replace("&#34;", '"') or '"confirm"' in page
    assert "tejun-line-added" in page  # the text diff of the changed form
    assert designer.get(f"/designer/diff?old={v1}").status_code == 404


# -- validation and drafts ------------------------------------------------------------------------------


def test_validate_reports_problems_per_element(designer, line):
    _set_name, v1 = line
    ok = post_json(designer, f"/designer/versions/{v1}/validate", {"files": {}})
    assert ok.status_code == 200 and ok.get_json() == {"valid": True, "errors": []}
    bpmn = _files()["loop.bpmn"].decode().replace(
        '<spiffworkflow:property name="formJsonSchemaFilename" value="review.schema.json" />', "")
    bpmn = bpmn.replace('decision == "again"', 'decision == ')
    found = post_json(designer, f"/designer/versions/{v1}/validate",
                      {"files": {"loop.bpmn": bpmn, "review.schema.json": '{"type": "objekt"'}})
    assert found.status_code == 200
    body = found.get_json()
    assert body["valid"] is False
    by_element = {(e["file"], e["element_id"]): e["message"] for e in body["errors"]}
    assert "no form" in by_element[("loop.bpmn", "review")]
    assert "condition" in by_element[("loop.bpmn", "f5")]
    assert "not valid JSON" in by_element[("review.schema.json", None)]
    assert all(set(e) == {"file", "element_id", "message"} for e in body["errors"])


def test_bad_requests_to_the_json_endpoints_are_clear_400s(designer, line):
    _set_name, v1 = line
    for body in ([], {"files": []}, {"files": {"../etc/passwd.json": "{}"}}, {"files": {"a.txt": "x"}},
                 {"files": {"a.json": 5}}):
        response = post_json(designer, f"/designer/versions/{v1}/validate", body)
        assert response.status_code == 400, body
        assert response.mimetype == "application/problem+json"
    assert post_json(designer, "/designer/versions/999999/validate", {"files": {}}).status_code == 404


def test_saving_a_draft_replaces_the_edited_files_or_answers_422(svc, world, designer, line):
    set_name, v1 = line
    refused = post_json(designer, f"/designer/versions/{v1}/drafts",
                        {"files": {"review.schema.json": '{"$schema": "http://json-schema.org/draft-07/schema#", '
                                                         '"type": "object", "required": 5}'}, "comment": "x"})
    assert refused.status_code == 422
    assert refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert problem["errors"] and all(set(e) == {"file", "element_id", "message"} for e in problem["errors"])
    assert problem["errors"][0]["file"] == "review.schema.json"

    review = _v2_files()["review.schema.json"].decode()
    saved = post_json(designer, f"/designer/versions/{v1}/drafts",
                      {"files": {"review.schema.json": review}, "comment": "a note on the review"})
    assert saved.status_code == 201
    new_id = saved.get_json()["version_id"]
    assert saved.get_json()["url"] == f"/designer/versions/{new_id}"
    with svc.db.reader() as session:
        version = session.get(ModelVersion, new_id)
        assert (version.status, version.set_name, version.comment) == ("draft", set_name, "a note on the review")
        names = {f.path: f.content for f in version.files}
    assert set(names) == set(_files())  # the base version's files, with the edited one replaced
    assert names["review.schema.json"] == review.encode() and names["loop.bpmn"] == _files()["loop.bpmn"]
    same = post_json(designer, f"/designer/versions/{v1}/drafts", {"files": {"review.schema.json": review}})
    assert same.status_code == 200 and same.get_json() == {"version_id": new_id, "created": False,
                                                           "url": f"/designer/versions/{new_id}"}


def test_the_editor_page_carries_its_configuration(designer, line):
    _set_name, v1 = line
    page = designer.get(f"/designer/versions/{v1}/edit").get_data(as_text=True)
    assert 'id="tejun-designer-config"' in page
    assert "vendor/designer/editor.js" in page and 'type="module"' in page
    assert f"/designer/versions/{v1}/drafts" in page and "formJsonSchemaFilename" not in page
    assert '"security_officer"' in page and '"fa_review"' in page


# -- upload ---------------------------------------------------------------------------------------------


def _upload(client, files: dict[str, bytes], **fields):
    data = {"csrf_token": client.csrf, **fields,
            "files": [(io.BytesIO(content), name) for name, content in files.items()]}
    return client.post("/designer/upload", data=data, content_type="multipart/form-data")


def test_uploading_files_stores_a_draft(svc, world, designer, line):
    set_name, v1 = line
    response = _upload(designer, {"review.schema.json": _v2_files()["review.schema.json"]}, set_name=set_name,
                       base=str(v1), comment="from disk")
    assert response.status_code == 302
    new_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with svc.db.reader() as session:
        version = session.get(ModelVersion, new_id)
        assert (version.status, version.comment, len(version.files)) == ("draft", "from disk", 3)
    whole = _upload(designer, _files("loop_v3"), new_set=f"new-{world.tag}")
    assert whole.status_code == 302
    assert designer.get("/designer/upload").status_code == 200


CORPUS_UPLOADS = [
    # (file, a part of the message expected for it)
    ("miwg/A.1.0.bpmn", "no executable process"),
    ("miwg/C.1.0.bpmn", ""),
    ("spiffworkflow-tests/tests/SpiffWorkflow/bpmn/data/Invalid-Workflows/non-executable-process.bpmn", ""),
    ("spiffworkflow-tests/tests/SpiffWorkflow/camunda/data/invalid/InvalidDecision.bpmn", ""),
    ("spiffworkflow-tests/tests/SpiffWorkflow/bpmn/data/data_object_invalid.bpmn", ""),
    ("spiffworkflow-tests/tests/SpiffWorkflow/bpmn/data/parallel_multiinstance_invalid.bpmn", ""),
    ("spiffworkflow-tests/tests/SpiffWorkflow/bpmn/data/standard_loop_invalid.bpmn", ""),
    ("spiffworkflow-tests/tests/SpiffWorkflow/bpmn/data/service_task.bpmn", "service tasks cannot run"),
]


@pytest.mark.parametrize(("path", "expected"), CORPUS_UPLOADS, ids=[p for p, _ in CORPUS_UPLOADS])
def test_invalid_corpus_uploads_are_refused_with_per_element_messages(designer, world, path, expected):
    source = CORPORA / path
    response = _upload(designer, {source.name: source.read_bytes()}, new_set=f"corpus-{world.tag}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    rows = re.findall(r"<tr><td>([^<]*)</td><td>(.*?)</td><td>(.*?)</td></tr>", page, re.S)
    assert rows, page[:2000]
    assert all(file and message.strip() for file, _element, message in rows)
    assert any(file == source.name for file, _element, _message in rows)
    if expected:
        assert expected in page
    assert "Something went wrong" not in page


def test_upload_refuses_bad_names_oversized_files_and_empty_forms(designer, world):
    big = b"<x>" + b" " * 5_000_001 + b"</x>"
    response = _upload(designer, {"evil name.bpmn": b"<x/>", "big.bpmn": big}, new_set=f"bad-{world.tag}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "file name not allowed" in page and "file is too large" in page
    empty = designer.post("/designer/upload", data={"csrf_token": designer.csrf, "new_set": f"e-{world.tag}"},
                          content_type="multipart/form-data")
    assert empty.status_code == 422 and "Choose at least one" in empty.get_data(as_text=True)
    bad_set = _upload(designer, _files(), new_set="no spaces allowed")
    assert bad_set.status_code == 422 and "Name the model set" in bad_set.get_data(as_text=True)


def test_a_broken_xml_upload_names_the_file_and_line(designer, world):
    response = _upload(designer, {"broken.bpmn": b"<bpmn:definitions xmlns:bpmn='x'><unclosed>"},
                       new_set=f"broken-{world.tag}")
    assert response.status_code == 422
    assert "broken.bpmn" in response.get_data(as_text=True)


# -- migration ------------------------------------------------------------------------------------------


def test_case_selection_shows_only_reference_status_stage_and_version(svc, world, designer, line):
    set_name, v1 = line
    cases = _start(svc, world, set_name, 3)
    _to_review(svc, world, cases[0])
    v2, _ = versions.upload_draft(svc, world.actor("designer"), _v2_files(), "v2", set_name=set_name)
    draft_page = designer.get(f"/designer/versions/{v2}/cases", follow_redirects=True).get_data(as_text=True)
    assert "Publish this version first" in draft_page
    versions.publish(svc, world.actor("designer"), v2)
    page = designer.get(f"/designer/versions/{v2}/cases").get_data(as_text=True)
    with svc.db.reader() as session:
        references = {c: session.get(Case, c).reference for c in cases}
    for reference in references.values():
        assert reference in page
    assert "secret title" not in page  # case data stays hidden
    assert "3 case(s) could move" in page
    filtered = designer.get(f"/designer/versions/{v2}/cases?stage=fa_review").get_data(as_text=True)
    assert references[cases[0]] in filtered and references[cases[1]] not in filtered


def test_preview_then_migrate_one_case(svc, world, designer, line):
    set_name, v1 = line
    at_edit, at_review = _start(svc, world, set_name, 2)
    _to_review(svc, world, at_review)
    v3, _ = versions.upload_draft(svc, world.actor("designer"), _files("loop_v3"), "no review", set_name=set_name)
    versions.publish(svc, world.actor("designer"), v3)
    page = post(designer, f"/designer/versions/{v3}/cases/preview",
                     {"case_id": [str(at_edit), str(at_review)]}).get_data(as_text=True)
    assert "1 of 2 case(s) can move" in page
    assert re.search(r'data-can-migrate="no".*?&#39;review&#39; is ready but was removed', page, re.S)
    assert "secret title" not in page
    response = post(designer, f"/designer/versions/{v3}/cases/migrate", {"case_id": str(at_edit)},
                         follow_redirects=True)
    assert "now runs on version" in response.get_data(as_text=True)
    refused = post(designer, f"/designer/versions/{v3}/cases/migrate", {"case_id": str(at_review)},
                        follow_redirects=True)
    assert "was not moved" in refused.get_data(as_text=True)
    with svc.db.reader() as session:
        assert session.get(Case, at_edit).model_version_id == v3
        assert session.get(Case, at_review).model_version_id == v1
    assert post(designer, f"/designer/versions/{v3}/cases/preview", {}).status_code == 302


def test_bulk_migration_is_a_job_with_progress(svc, world, designer, line):
    set_name, _v1 = line
    migration.run_jobs(svc)  # jobs other tests left behind come first in the worker's queue
    cases = _start(svc, world, set_name, 5)
    v2, _ = versions.upload_draft(svc, world.actor("designer"), _v2_files(), "v2", set_name=set_name)
    versions.publish(svc, world.actor("designer"), v2)
    preview = post(designer, f"/designer/versions/{v2}/cases/preview", {"all_matching": "1"})
    assert "5 of 5 case(s) can move" in preview.get_data(as_text=True)
    response = post(designer, f"/designer/versions/{v2}/cases/migrate", {"case_id": [str(c) for c in cases]})
    assert response.status_code == 302
    job_url = response.headers["Location"]
    page = designer.get(job_url).get_data(as_text=True)
    assert "Waiting for the timer worker" in page and 'data-progress-url="' in page
    progress = designer.get(f"{job_url}/progress").get_json()
    assert (progress["status"], progress["total"], progress["done"]) == ("queued", 5, 0)
    migration.run_jobs(svc, limit_cases=2)
    assert designer.get(f"{job_url}/progress").get_json()["done"] == 2
    migration.run_jobs(svc)
    progress = designer.get(f"{job_url}/progress").get_json()
    assert (progress["status"], progress["done"], progress["counts"]) == ("done", 5, {"migrated": 5})
    with svc.db.reader() as session:
        references = {session.get(Case, c).reference for c in cases}
    assert {r["reference"] for r in progress["results"]} == references
    assert set(progress["results"][0]) == {"case_id", "reference", "result", "detail"}
    assert designer.get("/designer/migrations/999999").status_code == 404
