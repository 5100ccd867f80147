"""Exports with a real Celery worker on a real Redis: crash and outage included.

Each test runs its own redis-server on a free port, so stopping it harms no one,
and workers are subprocesses on the test database.
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest
from django.conf import settings

from access_requests import services
from access_requests.models import Export
from access_requests.services import exports as export_services
from ingest.models import Report
from portal.celery import app as celery_app
from tests.access_requests.helpers import (
    data_api_rows,
    export_file_rows,
    export_row_as_api_row,
    grant_for,
)
from tests.ingest.factories import report_row
from tests.servers import RedisServer, process_group_stop
from tests.support import ROOT, on_postgres, require_service

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
DAYS = 20
PER_DAY = 400
FIRST = date(2026, 2, 1)


@pytest.fixture
def redis_server():
    require_service("redis-server", shutil.which("redis-server") is not None)
    require_service("PostgreSQL (set DATABASE_URL)", on_postgres())
    server = RedisServer()
    server.start()
    previous = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    celery_app.conf.broker_url = server.url
    celery_app.conf.task_always_eager = False
    celery_app._after_fork()  # drop pooled connections to the previous broker
    yield server
    server.stop()
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = previous
    celery_app._after_fork()


@pytest.fixture
def media(export_media, settings):
    settings.EXPORT_STALE_SECONDS = 3
    settings.EXPORT_QUEUED_GRACE_SECONDS = 0
    return export_media


class Workers:
    def __init__(self, redis_url: str, media_root):
        db = settings.DATABASES["default"]
        self.env = dict(
            os.environ,
            REDIS_URL=redis_url,
            MEDIA_ROOT=str(media_root),
            DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            EXPORT_STALE_SECONDS="3",
            DEBUG="0",
            STATIC_MANIFEST="0",
        )
        self.processes: list[subprocess.Popen] = []
        self.log_path = media_root / "workers.log"
        self.log = self.log_path.open("ab")

    def start(self, *, slow: bool = False) -> subprocess.Popen:
        entry = (
            [sys.executable, "tests/access_requests/slow_worker.py"]
            if slow
            else [sys.executable, "-m", "celery"]
        )
        process = subprocess.Popen(
            [
                *entry,
                "-A",
                "portal",
                "worker",
                "-c",
                "1",
                "-l",
                "warning",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"w{len(self.processes)}@test",
            ],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        return process

    def check_alive(self) -> None:
        """A worker that died at start (bad configuration) fails the test at once."""
        for process in self.processes:
            if process.poll() not in (None, -signal.SIGKILL):
                self.log.flush()
                raise AssertionError(
                    f"a worker exited with {process.returncode}: "
                    f"{self.log_path.read_text()[-2000:]}"
                )

    def kill(self, process: subprocess.Popen) -> None:
        os.killpg(process.pid, signal.SIGKILL)  # the worker and its pool children, no goodbye
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            process_group_stop(process, timeout=15)


@pytest.fixture
def workers(redis_server, media):
    pool = Workers(redis_server.url, media)
    yield pool
    pool.stop_all()


@pytest.fixture
def fleet():
    Report.objects.bulk_create(
        report_row(f"host{n:04d}", FIRST + timedelta(days=d))
        for d in range(DAYS)
        for n in range(PER_DAY)
    )


@pytest.fixture
def grant_and_token(applicant, maintainer):
    grant = grant_for(
        applicant, maintainer, elements=("platformID", "requestTime", "version", "enableAddonList")
    )
    _, secret = services.token_mint(grant=grant, user=applicant, name="worker tests")
    return grant, secret


def _request(client, secret, file_format: str) -> int:
    response = client.post(
        "/api/v1/exports",
        json.dumps({"format": file_format}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 202, response.content
    return response.json()["id"]


def _wait(export_id: int, predicate, timeout: float = 90, during=None, workers=None) -> Export:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if workers is not None:
            workers.check_alive()
        export = Export.objects.get(pk=export_id)
        if predicate(export):
            return export
        if during:
            during(export)
        time.sleep(0.2)
    raise AssertionError(f"export {export_id} stayed {Export.objects.get(pk=export_id).state}")


def _download(client, secret, export_id: int):
    return client.get(
        f"/api/v1/exports/{export_id}/download", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )


def _verify(client, secret, export: Export, file_format: str) -> None:
    response = _download(client, secret, export.pk)
    assert response.status_code == 200
    blob = b"".join(response.streaming_content)
    assert hashlib.sha256(blob).hexdigest() == export.sha256
    exported = [
        export_row_as_api_row(file_format, row) for row in export_file_rows(file_format, blob)
    ]
    expected = [export_row_as_api_row("jsonl", row) for row in data_api_rows(client, secret)]
    assert export.rows == len(expected) == DAYS * PER_DAY
    assert exported == expected


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_a_worker_builds_the_export_and_the_checksum_holds(
    client, fleet, grant_and_token, workers, file_format
):
    _, secret = grant_and_token
    workers.start()
    export_id = _request(client, secret, file_format)
    export = _wait(export_id, lambda e: e.state in ("ready", "failed"), workers=workers)
    assert export.state == "ready", export.error
    _verify(client, secret, export, file_format)


def test_a_killed_worker_export_is_run_again_and_never_served_half_done(
    client, fleet, grant_and_token, workers
):
    _, secret = grant_and_token
    slow = workers.start(slow=True)
    export_id = _request(client, secret, "jsonl")

    def never_downloadable(export):
        """Refused while unfinished; a file served is the finished one, whole.

        The state passed in was read before the download: the export may have become
        ready in between, and then a 200 must carry the complete file."""
        response = _download(client, secret, export.pk)
        if response.status_code == 200:
            export.refresh_from_db()
            assert export.state == "ready"
            body = b"".join(response.streaming_content)
            assert hashlib.sha256(body).hexdigest() == export.sha256
        else:
            assert response.status_code == 409

    running = _wait(
        export_id,
        lambda e: e.state == "running" and e.progress > 0,
        during=never_downloadable,
        workers=workers,
    )
    assert running.attempts == 1
    workers.kill(slow)
    partial = list((settings.MEDIA_ROOT / "exports-partial").iterdir())
    assert partial, "the killed worker left its partial file aside"
    assert (
        not list((settings.MEDIA_ROOT / "exports").rglob("*.gz"))
        if (settings.MEDIA_ROOT / "exports").exists()
        else True
    )
    assert _download(client, secret, export_id).status_code == 409

    workers.start()
    time.sleep(settings.EXPORT_STALE_SECONDS + 0.5)
    assert export_id in export_services.exports_sweep()
    export = _wait(
        export_id,
        lambda e: e.state in ("ready", "failed"),
        during=lambda e: e.state == "ready" or never_downloadable(e),
    )
    assert export.state == "ready" and export.attempts == 2
    _verify(client, secret, export, "jsonl")


def test_with_redis_down_the_request_is_kept_and_runs_once_redis_is_back(
    client, fleet, grant_and_token, workers, redis_server
):
    _, secret = grant_and_token
    redis_server.stop()
    celery_app._after_fork()
    export_id = _request(client, secret, "csv")
    assert Export.objects.get(pk=export_id).state == "queued"

    redis_server.start()
    celery_app._after_fork()
    workers.start()
    assert export_id in export_services.exports_sweep()
    export = _wait(export_id, lambda e: e.state in ("ready", "failed"), workers=workers)
    assert export.state == "ready", export.error
    _verify(client, secret, export, "csv")
