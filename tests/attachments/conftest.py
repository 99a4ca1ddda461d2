"""A real S3-compatible server for the evidence-storage tests: moto in server mode, as a subprocess on
127.0.0.1 on a free port (boto3 is never mocked: every call goes over HTTP to that server)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace

import pytest

from service.app import create_app

ACCESS_KEY, SECRET_KEY, REGION = "tejun-test", "tejun-test-secret", "ap-northeast-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    port = _free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"moto server did not start on {url}")
            time.sleep(0.1)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="session")
def s3_client(s3_endpoint):
    import boto3

    return boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY)


def make_bucket(s3_client) -> str:
    name = f"tejun-{secrets.token_hex(6)}"
    s3_client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


@pytest.fixture(scope="session")
def bucket(s3_client) -> str:
    return make_bucket(s3_client)


def s3_settings(settings, endpoint: str, bucket: str, **more):
    return replace(settings, evidence_store="s3", s3_bucket=bucket, s3_endpoint_url=endpoint, s3_region=REGION,
                   s3_access_key_id=ACCESS_KEY, s3_secret_access_key=SECRET_KEY, **more)


def app_for(settings):
    application = create_app(settings)
    application.config.update(TESTING=True)
    return application


@pytest.fixture(scope="session")
def s3_app(settings, s3_endpoint, bucket, tmp_path_factory):
    """The app with evidence in S3, on the shared test database, its own instance and upload folders."""
    instance = tmp_path_factory.mktemp("s3-host-a")
    application = app_for(s3_settings(settings, s3_endpoint, bucket, instance_path=instance,
                                      upload_dir=instance / "uploads"))
    yield application
    application.extensions["tejun"].db.dispose()
