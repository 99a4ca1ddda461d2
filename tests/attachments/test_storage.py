"""Evidence in shared object storage (issue 20, part 1), against a real S3-compatible server (conftest):
uploads land in the bucket, another "host" reads them, bytes that differ from their SHA-256 are never served,
and `attachments migrate-storage` moves local files into the bucket, idempotently."""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import replace

from sqlalchemy import delete, select

from service.attachments import storage_path, store_upload
from service.attachments.storage import LocalDiskStore, S3Store, build_store
from service.models import Attachment
from service.unit_of_work import unit_of_work
from tests.attachments.conftest import app_for, make_bucket, s3_settings
from tests.web.helpers import Case, sign_in

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload(client, task_id: str, name: str, content: bytes):
    return client.post(f"/tasks/{task_id}/attachments", data={"file": (io.BytesIO(content), name)},
                       headers={"X-CSRFToken": client.csrf, "Accept": "application/json"},
                       content_type="multipart/form-data")


def row(svc, public_id: str) -> Attachment:
    with svc.db.reader() as session:
        found = session.scalars(select(Attachment).where(Attachment.public_id == public_id)).one()
        session.expunge(found)
        return found


def forget(svc, *public_ids: str) -> None:
    """Remove test rows whose bytes a test damaged, so that later migrations see only intact files."""
    with unit_of_work(svc) as session:
        session.execute(delete(Attachment).where(Attachment.public_id.in_(public_ids)))


def test_uploads_go_to_the_bucket_and_another_host_serves_them(s3_app, settings, s3_endpoint, bucket, s3_client,
                                                               world, tmp_path):
    svc = s3_app.extensions["tejun"]
    assert isinstance(svc.evidence, S3Store)
    item = Case(svc, world).to_disclosure()
    stored = upload(sign_in(s3_app, world, "researcher"), item.task_id, "誓約書.pdf", PDF)
    assert stored.status_code == 201, stored.get_json()
    attachment = row(svc, stored.get_json()["id"])

    head = s3_client.head_object(Bucket=bucket, Key=f"evidence/{attachment.storage_name}")
    assert head["Metadata"]["sha256"] == hashlib.sha256(PDF).hexdigest() == attachment.sha256
    assert not list((tmp_path.parent).glob(f"**/{attachment.storage_name}"))  # nothing on this host's disk
    assert not storage_path(svc, attachment.storage_name).exists()

    # a second web process with its own instance folder: the same database, the same bucket
    host_b = app_for(s3_settings(settings, s3_endpoint, bucket, instance_path=tmp_path / "host-b",
                                 upload_dir=tmp_path / "host-b" / "uploads"))
    try:
        download = sign_in(host_b, world, "researcher").get(f"/attachments/{attachment.public_id}")
        assert download.status_code == 200 and download.data == PDF
        assert download.headers["Content-Length"] == str(len(PDF))
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert sign_in(host_b, world, "researcher2").get(f"/attachments/{attachment.public_id}").status_code == 404
    finally:
        host_b.extensions["tejun"].db.dispose()


def test_bytes_changed_in_the_bucket_are_never_served(s3_app, bucket, s3_client, world, caplog):
    svc = s3_app.extensions["tejun"]
    item = Case(svc, world).to_disclosure()
    researcher = sign_in(s3_app, world, "researcher")
    public_id = upload(researcher, item.task_id, "報告.pdf", PDF).get_json()["id"]
    attachment = row(svc, public_id)
    try:
        tampered = PDF.replace(b"1.4", b"1.7")
        s3_client.put_object(Bucket=bucket, Key=f"evidence/{attachment.storage_name}", Body=tampered)
        with caplog.at_level(logging.ERROR, logger="tejun.evidence"):
            response = researcher.get(f"/attachments/{public_id}", headers={"Accept": "application/json"})
        assert response.status_code == 500
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["title"] == "Stored file failed its integrity check"
        assert tampered not in response.data and b"%PDF" not in response.data
        assert any(public_id in r.getMessage() for r in caplog.records), caplog.text

        s3_client.delete_object(Bucket=bucket, Key=f"evidence/{attachment.storage_name}")
        assert researcher.get(f"/attachments/{public_id}").status_code == 404
    finally:
        forget(svc, public_id)


def test_local_files_are_checked_too(app, svc, world, caplog):
    item = Case(svc, world).to_disclosure()
    researcher = sign_in(app, world, "researcher")
    public_id = upload(researcher, item.task_id, "local.pdf", PDF).get_json()["id"]
    path = storage_path(svc, row(svc, public_id).storage_name)
    try:
        assert researcher.get(f"/attachments/{public_id}").data == PDF
        path.write_bytes(PDF + b"% appended\n")
        with caplog.at_level(logging.ERROR, logger="tejun.evidence"):
            response = researcher.get(f"/attachments/{public_id}", headers={"Accept": "application/json"})
        assert response.status_code == 500 and b"%PDF" not in response.data
        assert "integrity" in caplog.text
    finally:
        forget(svc, public_id)
        path.unlink(missing_ok=True)


def test_an_upload_whose_transaction_fails_leaves_no_object(s3_app, bucket, s3_client, world):
    svc = s3_app.extensions["tejun"]
    item = Case(svc, world).to_disclosure()
    before = s3_client.list_objects_v2(Bucket=bucket).get("KeyCount", 0)
    try:
        store_upload(svc, world.actor("researcher2"), item.task_id, "x.pdf", io.BytesIO(PDF))
    except Exception as error:  # the outsider cannot see the task
        assert getattr(error, "status", None) == 404
    else:
        raise AssertionError("an outsider could upload")
    assert s3_client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == before


def test_storage_is_checked_for_readiness(settings, s3_endpoint, s3_client):
    store = build_store(s3_settings(settings, s3_endpoint, make_bucket(s3_client)))
    store.check()
    missing = build_store(s3_settings(settings, s3_endpoint, "no-such-bucket-here"))
    try:
        missing.check()
    except Exception as error:
        assert getattr(error, "status", None) == 503
    else:
        raise AssertionError("a missing bucket passed the check")


def test_migrate_storage_copies_local_files_into_the_bucket_idempotently(app, svc, settings, s3_endpoint,
                                                                        s3_client, bucket, world):
    """What an operator does when a second host is added: copy, switch the setting, copy again, remove."""
    item = Case(svc, world).to_disclosure()
    researcher = sign_in(app, world, "researcher")
    ids = [upload(researcher, item.task_id, f"{n}.pdf", PDF + f"%{n}\n".encode()).get_json()["id"]
           for n in range(3)]
    # the shared test database also holds other tests' files: those uploaded to S3 are in `bucket` already
    target_bucket = bucket
    s3 = build_store(s3_settings(settings, s3_endpoint, target_bucket))
    with svc.db.reader() as session:
        names = session.scalars(select(Attachment.storage_name)).all()
    in_s3 = [n for n in names if s3.exists(n)]
    expected = [n for n in names if n not in in_s3 and LocalDiskStore(settings.upload_dir).exists(n)]
    assert len(in_s3) + len(expected) == len(names)
    # the command reads the app's settings: the S3 ones are configured, the store in use is still local
    migrating = app_for(replace(s3_settings(settings, s3_endpoint, target_bucket), evidence_store="local"))
    try:
        runner = migrating.test_cli_runner()
        dry = runner.invoke(args=["attachments", "migrate-storage", "--to", "s3", "--dry-run"])
        assert f"would copy {len(expected)}, already in s3: {len(in_s3)}, problems: 0" in dry.output
        assert not any(s3.exists(n) for n in expected)

        first = runner.invoke(args=["attachments", "migrate-storage", "--to", "s3"])
        assert first.exit_code == 0, first.output
        assert f"copied {len(expected)}, already in s3: {len(in_s3)}, problems: 0" in first.output
        again = runner.invoke(args=["attachments", "migrate-storage", "--to", "s3"])
        assert again.exit_code == 0 and f"copied 0, already in s3: {len(names)}, problems: 0" in again.output
        for public_id in ids:
            attachment = row(svc, public_id)
            assert s3.open_verified(attachment.storage_name, attachment.sha256).read().startswith(PDF)

        # a local file damaged before it was copied is reported, not copied
        bad = upload(researcher, item.task_id, "bad.pdf", PDF + b"%bad\n").get_json()["id"]
        bad_name = row(svc, bad).storage_name
        storage_path(svc, bad_name).write_bytes(b"%PDF-1.4 something else")
        try:
            damaged = runner.invoke(args=["attachments", "migrate-storage", "--to", "s3"])
            assert damaged.exit_code == 1
            assert f"{bad}: bytes in the local store do not match their SHA-256" in damaged.output
            assert not s3.exists(bad_name)
        finally:
            forget(svc, bad)
            storage_path(svc, bad_name).unlink(missing_ok=True)

        switched = app_for(s3_settings(settings, s3_endpoint, target_bucket))
        try:
            download = sign_in(switched, world, "researcher").get(f"/attachments/{ids[0]}")
            assert download.status_code == 200 and download.data == PDF + b"%0\n"
            verified = switched.test_cli_runner().invoke(args=["attachments", "verify"])
            assert verified.exit_code == 0 and f"s3: {len(names)} intact, 0 problem(s)" in verified.output
            removed = runner.invoke(args=["attachments", "migrate-storage", "--to", "s3", "--delete-source"])
            assert removed.exit_code == 0 and "copied 0," in removed.output
            assert not any(storage_path(svc, row(svc, public_id).storage_name).exists() for public_id in ids)
            assert switched.test_cli_runner().invoke(args=["attachments", "verify"]).exit_code == 0
        finally:
            switched.extensions["tejun"].db.dispose()
    finally:
        migrating.extensions["tejun"].db.dispose()
