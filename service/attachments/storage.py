"""Where evidence bytes live: the local disk of one host (the default) or S3-compatible object storage.

Web processes on several hosts share only the database; evidence uploaded on one host must be readable on the
others, so a deployment with more than one host sets `TEJUN_EVIDENCE_STORE=s3` (AWS S3, MinIO, Ceph RGW,
or any other S3-compatible service). The store is chosen once when the app starts (`Services.evidence`).

Every object is written under its generated storage name with its SHA-256 known in advance. Reading goes
through `open_verified`: the bytes are hashed while they are read and compared with the digest kept in the
database; a file whose bytes differ is never served (`EvidenceCorrupt`, logged as an error).

boto3 is imported only when an S3 store is built: a web worker on the local-disk store does not pay its memory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from ..errors import N_, NotFound, TejunError

if TYPE_CHECKING:
    from ..config import Settings

log = logging.getLogger("tejun.evidence")
CHUNK = 256 * 1024
# what an S3 download keeps in memory before it spills to a temporary file while it is being verified
SPOOL_BYTES = 1024 * 1024
KINDS = ("local", "s3")


class EvidenceMissing(NotFound):
    """The database knows the file but the store does not hold it."""


class EvidenceCorrupt(TejunError):
    """The stored bytes are not the ones uploaded: their SHA-256 differs from the digest in the database."""

    status = 500
    title = "Stored file failed its integrity check"


class StorageUnavailable(TejunError):
    status = 503
    title = "Evidence storage unavailable"


class EvidenceStore(Protocol):
    kind: str

    def put(self, name: str, content: bytes, sha256: str) -> None:
        """Store new bytes under `name` (never replaces another file's bytes)."""

    def open(self, name: str) -> BinaryIO:
        """A readable stream of the stored bytes (EvidenceMissing when there are none)."""

    def exists(self, name: str) -> bool: ...

    def delete(self, name: str) -> None:
        """Remove the bytes; no error when they are already gone."""

    def check(self) -> None:
        """Raise when the store cannot be reached (readiness)."""


def verify_stream(stream: BinaryIO, sha256: str, *, name: str, spool: bool) -> BinaryIO:
    """Read the whole stream, hashing it; a seekable file at offset 0 with the same bytes when they match.

    With `spool`, the bytes are copied to a temporary file (in memory up to SPOOL_BYTES) so that what is served
    is exactly what was hashed; otherwise `stream` itself (a local file) is rewound and returned.
    """
    digest = hashlib.sha256()
    copy = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) if spool else None  # noqa: SIM115
    try:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            if copy is not None:
                copy.write(chunk)
        if not hmac.compare_digest(digest.hexdigest(), sha256):
            log.error("evidence %s failed its integrity check: stored sha256 %s, read %s; not served",
                      name, sha256, digest.hexdigest())
            raise EvidenceCorrupt(N_("the stored file does not match its checksum and cannot be served"))
    except BaseException:
        if copy is not None:
            copy.close()
        stream.close()
        raise
    if copy is None:
        stream.seek(0)
        return stream
    stream.close()
    copy.seek(0)
    return copy


class LocalDiskStore:
    """Files under TEJUN_UPLOAD_DIR, two-character fan-out folders, mode 600."""

    kind = "local"

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, name: str) -> Path:
        return self.root / name[:2] / name

    def put(self, name: str, content: bytes, sha256: str) -> None:
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)

    def open(self, name: str) -> BinaryIO:
        try:
            return self.path(name).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise EvidenceMissing(N_("the file is no longer stored")) from None

    def open_verified(self, name: str, sha256: str) -> BinaryIO:
        return verify_stream(self.open(name), sha256, name=name, spool=False)

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

    def check(self) -> None:
        if not self.root.is_dir():
            # nothing uploaded yet on a fresh instance: the folder is made by the first upload
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageUnavailable(N_("the upload folder is not writable"))


class S3Store:
    """Objects `<prefix><storage name>` in one bucket of an S3-compatible service.

    Each object is written with its SHA-256 as an S3 checksum (the service refuses bytes that arrive
    damaged) and as the metadata `sha256`; downloads are verified again against the database.
    """

    kind = "s3"

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None, region: str | None = None,
                 access_key_id: str | None = None, secret_access_key: str | None = None,
                 timeout: float = 10.0):
        import boto3
        from botocore.config import Config

        if not bucket:
            raise ValueError("TEJUN_S3_BUCKET is required for TEJUN_EVIDENCE_STORE=s3")
        self.bucket, self.prefix = bucket, prefix
        config = Config(
            connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 3, "mode": "standard"},
            # MinIO, Ceph and most self-hosted services want path-style addresses
            s3={"addressing_style": "path"} if endpoint_url else {},
            request_checksum_calculation="when_required", response_checksum_validation="when_required",
        )
        session = boto3.session.Session(aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
                                         region_name=region)
        self.client = session.client("s3", endpoint_url=endpoint_url, config=config)
        from botocore.exceptions import BotoCoreError, ClientError

        self._errors = (BotoCoreError, ClientError)

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    @staticmethod
    def _not_found(error) -> bool:
        code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    def _unavailable(self, error) -> StorageUnavailable:
        log.error("evidence storage s3://%s: %s", self.bucket, error)
        return StorageUnavailable(N_("evidence storage cannot be reached; try again later"))

    def put(self, name: str, content: bytes, sha256: str) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self.key(name), Body=content, ContentType="application/octet-stream",
                ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode(), Metadata={"sha256": sha256},
            )
        except self._errors as error:
            raise self._unavailable(error) from error

    def open(self, name: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key(name))["Body"]
        except self._errors as error:
            if self._not_found(error):
                raise EvidenceMissing(N_("the file is no longer stored")) from None
            raise self._unavailable(error) from error

    def open_verified(self, name: str, sha256: str) -> BinaryIO:
        try:
            return verify_stream(self.open(name), sha256, name=name, spool=True)
        except self._errors as error:  # the connection broke while reading
            raise self._unavailable(error) from error

    def stored_sha256(self, name: str) -> str | None:
        """The digest the object was written with (its metadata), or None when there is no such object."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key(name))
        except self._errors as error:
            if self._not_found(error):
                return None
            raise self._unavailable(error) from error
        return head.get("Metadata", {}).get("sha256", "")

    def exists(self, name: str) -> bool:
        return self.stored_sha256(name) is not None

    def delete(self, name: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(name))
        except self._errors as error:
            if not self._not_found(error):
                raise self._unavailable(error) from error

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self._errors as error:
            raise self._unavailable(error) from error


def build_store(settings: Settings, kind: str | None = None) -> LocalDiskStore | S3Store:
    """The store the settings name (`kind` overrides TEJUN_EVIDENCE_STORE: the migration command builds both)."""
    kind = kind or settings.evidence_store
    if kind == "local":
        return LocalDiskStore(settings.upload_dir)
    if kind == "s3":
        return S3Store(settings.s3_bucket or "", settings.s3_prefix, endpoint_url=settings.s3_endpoint_url,
                       region=settings.s3_region, access_key_id=settings.s3_access_key_id,
                       secret_access_key=settings.s3_secret_access_key)
    raise ValueError(f"TEJUN_EVIDENCE_STORE must be one of {', '.join(KINDS)}, not {kind!r}")
