"""GET /metrics: what operators see, who may see it, and that it carries nothing personal.

Reports are sent from a distinctive address (REMOTE_ADDR and X-Forwarded-For), with
known installation IDs and discarded fields NAMED like an address and like an
installation ID; a grantee mints a read token and asks for an export with it. The scrape
must show the counters moved, and neither any label nor the whole exposition may hold
the address, an installation ID, the token or the grantee's email.
"""

import inspect
import json
import os
import re
import runpy
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from access_requests import services
from access_requests.models import AccessRequest, Export
from portal import metrics
from tests.access_requests.factories import file_request
from tests.access_requests.helpers import PERIOD, grant_for
from tests.ingest.helpers import post_report
from tests.personas import persona_create
from tests.portal.test_nginx_log import HOST
from tests.portal.test_nginx_log import nginx as nginx_server  # noqa: F401 - a fixture
from tests.servers import (
    RedisServer,
    free_port,
    process_group_stop,
    production_server_env,
    wait_for_port,
)
from tests.support import LOCAL_FIXTURES, ROOT, on_postgres, require_service

METRICS_TOKEN = "metrics-test-token-4f1d9c2b7e6a"
SENDER = "198.51.100.77"
FORWARDED = "203.0.113.9"
INSTALLATIONS = ("metricsprobe-install-a", "metricsprobe-install-b")
ADDRESS = {"REMOTE_ADDR": SENDER, "HTTP_X_FORWARDED_FOR": FORWARDED}


def payload(platform_id: str) -> dict:
    document = json.loads((LOCAL_FIXTURES / "typical-chrome.json").read_text())
    document["platformID"] = platform_id
    # Discarded fields whose NAMES are an address and another installation's ID.
    document[SENDER] = "x"
    document[INSTALLATIONS[1]] = "y"
    return document


def scrape(client, token: str = METRICS_TOKEN) -> str:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "no-store" in response["Cache-Control"]
    return response.content.decode()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = METRICS_TOKEN
    return METRICS_TOKEN


# --- what a scrape shows, and what it never shows -----------------------------------------


@pytest.mark.slow  # builds an export
@pytest.mark.django_db(transaction=True)  # an export is built through its own connection
def test_a_scrape_counts_reports_and_exports_and_carries_nothing_personal(
    client,
    metrics_token,
    applicant,
    maintainer,
    export_media,
    celery_eager,
    django_capture_on_commit_callbacks,
):
    before = samples(scrape(client))

    answers = [post_report(client, payload(INSTALLATIONS[0]), **ADDRESS)]
    answers.append(post_report(client, payload(INSTALLATIONS[0]), **ADDRESS))
    answers.append(post_report(client, payload(INSTALLATIONS[1]), **ADDRESS))
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert [a.json()["report"] for a in answers] == ["new", "replaced", "new"]
    discarded = sum(len(a.json()["discarded_fields"]) for a in answers)
    assert SENDER in answers[0].json()["discarded_fields"]
    assert post_report(client, "{not json", **ADDRESS).status_code == 400
    assert post_report(client, "{}", content_type="text/plain", **ADDRESS).status_code == 415

    gina = persona_create("gina")
    grant = grant_for(gina, maintainer)
    _, secret = services.token_mint(grant=grant, user=gina, name="metrics probe")
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(
            "/api/v1/exports",
            json.dumps({"format": "csv"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
    assert asked.status_code == 202, asked.content
    assert Export.objects.get(pk=asked.json()["id"]).state == Export.State.READY

    # Waiting: alice's request filed 10 days ago (overdue), a queued export asked an hour ago.
    filed = file_request(applicant)
    AccessRequest.objects.filter(pk=filed.pk).update(created_at=timezone.now() - timedelta(days=10))
    waiting = Export.objects.create(
        grant=grant, requested_by=gina, format="jsonl", period_start=PERIOD[0], period_end=PERIOD[1]
    )
    Export.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(hours=1))

    text = scrape(client)
    after = samples(text)
    receiver = "portal_receiver_answers_total"
    assert moved(before, after, receiver, status="202", reason="new") == 2
    assert moved(before, after, receiver, status="202", reason="replaced") == 1
    assert moved(before, after, receiver, status="400", reason="malformed_json") == 1
    assert moved(before, after, receiver, status="415", reason="unsupported_media_type") == 1
    assert moved(before, after, "portal_receiver_discarded_fields_total") == discarded
    assert moved(before, after, "portal_receiver_reports_with_discarded_fields_total") == 3
    built = {"format": "csv", "outcome": "ready"}
    assert moved(before, after, "portal_export_builds_total", **built) == 1
    assert moved(before, after, "portal_export_build_duration_seconds_count", **built) == 1
    assert value(after, "portal_database_up") == 1
    assert value(after, "portal_access_requests_pending") >= 1
    assert value(after, "portal_access_requests_overdue") >= 1
    assert value(after, "portal_access_request_oldest_pending_age_seconds") >= 10 * 86400
    assert value(after, "portal_exports_waiting", state="queued") >= 1
    assert value(after, "portal_export_oldest_waiting_age_seconds", state="queued") >= 3600

    secrets = (SENDER, FORWARDED, *INSTALLATIONS, secret, gina.email, METRICS_TOKEN)
    labels = {v for (_, pairs) in after for (_, v) in pairs}
    assert not [v for v in labels if any(s in v for s in secrets)], labels
    assert not [s for s in secrets if s in text]


def test_labels_come_from_fixed_sets_and_anything_else_is_other(client, metrics_token):
    before = samples(scrape(client))
    metrics.receiver_answer_record(400, SENDER)
    metrics.receiver_answer_record(418, INSTALLATIONS[0])
    metrics.export_build_record(file_format=FORWARDED, outcome=SENDER, seconds=1.0)
    with pytest.raises(ZeroDivisionError), metrics.ingest_job_timed(INSTALLATIONS[1]):
        _ = 1 / 0
    text = scrape(client)
    after = samples(text)
    receiver = "portal_receiver_answers_total"
    assert moved(before, after, receiver, status="400", reason="other") == 1
    assert moved(before, after, receiver, status="other", reason="other") == 1
    builds = "portal_export_builds_total"
    assert moved(before, after, builds, format="other", outcome="other") == 1
    job = {"job": "other", "outcome": "error"}
    assert moved(before, after, "portal_ingest_job_duration_seconds_count", **job) == 1
    assert not [s for s in (SENDER, FORWARDED, *INSTALLATIONS) if s in text]


def test_every_answer_of_the_receiver_has_its_reason():
    """Each error code the receiver can answer is a known reason, not "other"."""
    sources = [ROOT / "ingest" / "views.py", ROOT / "ingest" / "parsing.py"]
    found = set()
    for path in sources:
        text = path.read_text()
        found |= set(re.findall(r"ReportRejected\(\s*(\d{3}),\s*\"(\w+)\"", text))
        found |= set(re.findall(r"\berror\(\s*(\d{3}),\s*\"(\w+)\"", text))
    assert ("413", "payload_too_large") in found and ("429", "rate_limited") in found, found
    unknown = {(s, r) for s, r in found if r not in metrics.RECEIVER_REASONS.get(int(s), ())}
    assert not unknown, f"add to portal.metrics.RECEIVER_REASONS: {sorted(unknown)}"


def test_the_jobs_of_ingest_are_timed(client, metrics_token, db):
    from ingest import tasks

    before = samples(scrape(client))
    tasks.rollup_recent_days()
    tasks.reports_purge_expired()
    after = samples(scrape(client))
    for job in metrics.INGEST_JOBS:
        count = "portal_ingest_job_duration_seconds_count"
        assert moved(before, after, count, job=job, outcome="ok") == 1, job
        stamp = value(after, "portal_ingest_job_last_success_timestamp_seconds", job=job)
        assert stamp >= time.time() - 60, job


def _metric_names() -> set[str]:
    """Every metric family portal/metrics.py defines (the names start with portal_)."""
    return set(re.findall(r"\"(portal_[a-z_]+)\"", (ROOT / "portal" / "metrics.py").read_text()))


def test_every_metric_is_documented_and_on_the_dashboard():
    names = _metric_names()
    assert len(names) >= 17, names
    docs = (ROOT / "docs" / "metrics.md").read_text()
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "telemetry-portal.json").read_text())
    expressions = " ".join(
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    )
    for name in sorted(names):
        assert f"`{name}" in docs, f"{name} is not in docs/metrics.md"
        assert re.search(rf"\b{name}(_total|_bucket|_count|_sum)?\b", expressions), name
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert all(panel["datasource"]["uid"] == "${datasource}" for panel in panels)


# --- who may scrape ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_the_token_or_with_another_the_scrape_is_refused(
    client, metrics_token, applicant, maintainer
):
    grant = grant_for(applicant, maintainer)
    _, read_token = services.token_mint(grant=grant, user=applicant, name="not for metrics")
    client.force_login(applicant)  # a session opens nothing either
    for authorization in (
        None,
        "Bearer ",
        "Bearer wrong-token",
        f"Bearer {METRICS_TOKEN}x",
        f"Bearer {read_token}",
        f"Basic {METRICS_TOKEN}",
        METRICS_TOKEN,
    ):
        headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
        response = client.get("/metrics", **headers)
        assert response.status_code == 401, authorization
        assert response["WWW-Authenticate"].startswith("Bearer"), authorization
        assert "no-store" in response["Cache-Control"]
        assert b"portal_" not in response.content
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"bearer {METRICS_TOKEN}").status_code == 200


def test_without_a_configured_token_the_endpoint_does_not_exist(client, settings, db):
    settings.METRICS_TOKEN = ""
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer "}, {"HTTP_AUTHORIZATION": "Bearer x"}):
        response = client.get("/metrics", **headers)
        assert response.status_code == 404
        assert "WWW-Authenticate" not in response


def _worker_server(port: int):
    """The worker's METRICS_PORT server, in this process, on a free port."""
    server = metrics.worker_metrics_server_start(port, address="127.0.0.1")
    wait_for_port(port)
    return server


def test_the_workers_metrics_port_wants_the_token_too(settings):
    settings.METRICS_TOKEN = METRICS_TOKEN
    metrics.receiver_answer_record(202, "new")  # something recorded to see
    port = free_port()
    server = _worker_server(port)
    try:
        for authorization in (
            None,
            "Bearer ",
            "Bearer wrong-token",
            f"Bearer {METRICS_TOKEN}x",
            f"Basic {METRICS_TOKEN}",
            METRICS_TOKEN,
        ):
            headers = {"Authorization": authorization} if authorization is not None else {}
            status, text, answer_headers = _get_with_headers(port, "/metrics", **headers)
            assert status == 401, authorization
            assert answer_headers["WWW-Authenticate"] == 'Bearer realm="metrics"', authorization
            assert "no-store" in answer_headers["Cache-Control"]
            assert "portal_" not in text, authorization
        status, text, answer_headers = _get_with_headers(
            port, "/metrics", Authorization=f"bearer {METRICS_TOKEN}"
        )
        assert status == 200
        assert "no-store" in answer_headers["Cache-Control"]
        assert value(samples(text), "portal_receiver_answers_total", status="202", reason="new")
        # The kubelet's probe has no token to send: it learns that the server answers, no more.
        status, text, _ = _get_with_headers(port, "/healthz")
        assert (status, json.loads(text)) == (200, {"status": "ok"})
        assert _get_with_headers(port, "/")[0] == 404
    finally:
        server.shutdown()
        server.server_close()


def test_without_a_configured_token_the_workers_metrics_do_not_exist(settings):
    settings.METRICS_TOKEN = ""
    port = free_port()
    server = _worker_server(port)
    try:
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer x"}):
            status, text, answer_headers = _get_with_headers(port, "/metrics", **headers)
            assert status == 404, headers
            assert "WWW-Authenticate" not in answer_headers
            assert "portal_" not in text
        assert _get_with_headers(port, "/healthz")[0] == 200
    finally:
        server.shutdown()
        server.server_close()


def test_the_web_and_the_worker_share_one_token_check():
    """One comparison for both gates: the view and the worker's server call the same one."""
    from portal import views

    view_source = inspect.getsource(views.metrics)
    worker_source = inspect.getsource(metrics.worker_metrics_application)
    for source in (view_source, worker_source):
        assert "metrics_token_matches(" in source
        assert "compare_digest" not in source
    assert "hmac.compare_digest" in inspect.getsource(metrics.metrics_token_matches)


@pytest.mark.slow  # a Django start-up
def test_the_token_is_read_from_a_file(tmp_path):
    secret_file = tmp_path / "metrics-token"
    secret_file.write_text("from-a-file-token\n")
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.METRICS_TOKEN)"],
        cwd=ROOT,
        env=dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="portal.settings",
            METRICS_TOKEN_FILE=str(secret_file),
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "from-a-file-token", result.stderr[-2000:]


@pytest.mark.slow  # three Django start-ups
def test_metrics_port_or_a_multiprocess_directory_that_cannot_work_stops_the_process(tmp_path):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="portal.settings", METRICS_PORT="9808")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    checks = [
        env,
        dict(env, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "missing"), METRICS_PORT=""),
        dict(env, PROMETHEUS_MULTIPROC_DIR="", METRICS_PORT=""),  # on, in the current folder
    ]
    for environment in checks:
        result = subprocess.run(
            [sys.executable, "-c", "from django.conf import settings; settings.DEBUG"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0
        assert "PROMETHEUS_MULTIPROC_DIR" in result.stderr, result.stderr[-2000:]


def test_a_short_token_is_a_deployment_warning(settings):
    from portal.checks import check_metrics_token

    settings.METRICS_TOKEN = "short"
    assert [m.id for m in check_metrics_token(None)] == ["portal.W010"]
    settings.METRICS_TOKEN = METRICS_TOKEN + "-long-enough-now"
    assert check_metrics_token(None) == []


# --- scrape-time health: a dead service is a 0, quickly -------------------------------------


def test_a_redis_that_does_not_answer_is_down_and_its_queues_unread(
    client, metrics_token, settings, db
):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.REDIS_URL = settings.CACHE_URL = dead
    found = samples(scrape(client))
    assert value(found, "portal_redis_up", role="broker") == 0
    assert value(found, "portal_redis_up", role="cache") == 0
    assert not [key for key in found if key[0] == "portal_celery_queue_length"]
    assert value(found, "portal_database_up") == 1


@pytest.mark.slow  # starts redis-server
def test_a_redis_that_answers_reports_its_queue_length(client, metrics_token, settings, db):
    require_service("redis-server", shutil.which("redis-server") is not None)
    server = RedisServer()
    server.start()
    try:
        settings.REDIS_URL = server.url
        import redis

        redis.Redis.from_url(server.url).rpush("celery", "a", "b", "c")
        found = samples(scrape(client))
    finally:
        server.stop()
    assert value(found, "portal_redis_up", role="broker") == 1
    assert value(found, "portal_redis_round_trip_seconds", role="broker") > 0
    assert value(found, "portal_celery_queue_length", queue="celery") == 3


@pytest.mark.django_db
def test_a_database_that_does_not_answer_is_down_and_its_queues_unread(
    client, metrics_token, postgres, monkeypatch
):
    parameters = metrics._probe_connection_parameters()
    monkeypatch.setattr(
        metrics, "_probe_connection_parameters", lambda: dict(parameters, port=free_port())
    )
    found = samples(scrape(client))
    assert value(found, "portal_database_up") == 0
    assert not [key for key in found if key[0] == "portal_access_requests_pending"]


# --- the production servers -----------------------------------------------------------------


def _get(port: int, path: str, **headers: str) -> tuple[int, str]:
    status, text, _ = _get_with_headers(port, path, **headers)
    return status, text


def _get_with_headers(port: int, path: str, **headers: str) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode(), dict(answer.headers)
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode(errors="replace"), dict(refused.headers)


def _post_report(port: int, platform_id: str) -> int:
    body = json.dumps(payload(platform_id)).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            (
                f"POST /collecting HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/json\r\nX-Forwarded-For: {FORWARDED}\r\n"
                f"X-Forwarded-Proto: https\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            + body
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def _accepted_per_file(folder: Path) -> dict[str, float]:
    """202s counted in each process's counter file (the files a scrape merges)."""
    counts = {}
    for path in folder.glob("counter_*.db"):
        for family in MultiProcessCollector.merge([str(path)], accumulate=True):
            for sample in family.samples:
                if sample.name == "portal_receiver_answers_total" and sample.labels == {
                    "status": "202",
                    "reason": "new",
                }:
                    counts[path.name] = counts.get(path.name, 0) + sample.value
    return counts


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _clear_stale(folder: Path) -> list[str]:
    conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    return sorted(conf["multiprocess_files_clear_stale"](str(folder)))


def test_gunicorns_start_clears_the_stale_metric_files_of_every_kind(tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    dead = _dead_pid()
    kinds = ("counter", "histogram", "summary", "gauge_all", "gauge_livesum", "gauge_max")
    kinds += ("gauge_mostrecent", "gauge_liveall", "gauge_min", "gauge_livemostrecent")
    for kind in kinds:
        MmapedDict(str(folder / f"{kind}_{dead}.db")).close()
    closed = folder / f"gauge_max_{os.getpid()}.db"  # alive, but not its writer (a reused ID)
    MmapedDict(str(closed)).close()
    held = folder / f"counter_{os.getpid()}.db"
    writer = MmapedDict(str(held))
    try:
        removed = _clear_stale(folder)
        assert removed == sorted([f"{kind}_{dead}.db" for kind in kinds] + [closed.name])
        assert sorted(p.name for p in folder.iterdir()) == [held.name]
    finally:
        writer.close()
    assert _clear_stale(folder) == [held.name]  # no longer held open: stale now
    assert folder.is_dir() and not list(folder.iterdir())


def test_gunicorns_start_removes_nothing_prometheus_client_did_not_write(tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    dead = _dead_pid()
    outside = tmp_path / "outside.db"
    outside.write_text("not metrics")
    keep = {
        "portal.db": "a file of someone else's",
        f"counter_{dead}.db.bak": "another name",
        f"counter_{dead}.DB": "another name",
        "counter_abc.db": "no process ID",
        f"info_{dead}.db": "no kind prometheus_client writes in multiprocess mode",
        f"gauge_{dead}.db": "a gauge without its mode",
    }
    for name, text in keep.items():
        (folder / name).write_text(text)
    (folder / f"counter_{dead + 1}.db").symlink_to(outside)  # a link, to a file outside
    (folder / f"histogram_{dead}.db").mkdir()  # a directory with a metric file's name
    nested = folder / f"histogram_{dead}.db" / f"counter_{dead}.db"
    MmapedDict(str(nested)).close()
    gone = folder / f"counter_{dead}.db"
    MmapedDict(str(gone)).close()

    assert _clear_stale(folder) == [gone.name]
    assert outside.read_text() == "not metrics"
    assert (folder / f"counter_{dead + 1}.db").is_symlink()
    assert nested.exists()
    for name, text in keep.items():
        assert (folder / name).read_text() == text, name
    assert _clear_stale(tmp_path / "missing") == []


@pytest.mark.slow  # starts gunicorn
@pytest.mark.django_db(transaction=True)
def test_gunicorn_workers_are_summed_in_one_scrape(postgres, tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    stale = folder / f"counter_{_dead_pid()}.db"
    MmapedDict(str(stale)).close()
    live = folder / f"counter_{os.getpid()}.db"  # a live writer's file, as a pool child's is
    writer = MmapedDict(str(live))
    reused = folder / f"histogram_{os.getpid()}.db"  # a live process that no longer writes it
    MmapedDict(str(reused)).close()
    port = free_port()
    env = production_server_env(port)
    env.update(
        GUNICORN_WORKERS="2",
        GUNICORN_THREADS="2",
        PROMETHEUS_MULTIPROC_DIR=str(folder),
        METRICS_TOKEN=METRICS_TOKEN,
        HTTPS="1",
        GUNICORN_ACCESS_LOG="0",
        LOG_LEVEL="WARNING",
        GUNICORN_LOG_LEVEL="warning",
    )
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "portal.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for_port(port)
            assert not stale.exists(), "a dead process's file survived the start"
            assert not reused.exists(), "a file no live process holds survived the start"
            assert live.exists(), "a live writer's file was removed"
            writer.close()
            sent = _send_until_both_workers_counted(port, folder)
            # Prometheus reaches a process by its own address: the Host is no allowed host,
            # and the scrape is plain HTTP under HTTPS=1.
            status, text = _get(
                port, "/metrics", Authorization=f"Bearer {METRICS_TOKEN}", Host="10.1.2.3:8000"
            )
            assert status == 200, text
            assert _get(port, "/metrics")[0] == 401
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    found = samples(text)
    per_file = _accepted_per_file(folder)
    assert len([c for c in per_file.values() if c]) >= 2, per_file
    assert value(found, "portal_receiver_answers_total", status="202", reason="new") == sent
    assert value(found, "portal_database_up") == 1
    assert not [s for s in (SENDER, FORWARDED, *INSTALLATIONS) if s in text]
    assert "Traceback" not in log_path.read_text()


def _send_until_both_workers_counted(port: int, folder: Path) -> int:
    """Reports from a few threads at once, until each of the two workers has counted some."""
    sent = 0
    lock = threading.Lock()

    def send(count: int, offset: int) -> None:
        nonlocal sent
        for n in range(count):
            status = _post_report(port, f"gunicorn-probe-{offset}-{n}")
            assert status == 202, status
            with lock:
                sent += 1

    for round_number in range(10):
        threads = [
            threading.Thread(target=send, args=(10, round_number * 10 + t)) for t in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if len([c for c in _accepted_per_file(folder).values() if c]) >= 2:
            return sent
    raise AssertionError(f"one worker took every report: {_accepted_per_file(folder)}")


@pytest.mark.slow  # starts redis-server and a Celery worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_with_metrics_port_serves_its_pool_metrics(postgres, tmp_path):
    from django.conf import settings

    from portal.celery import app as celery_app

    require_service("PostgreSQL (set DATABASE_URL)", on_postgres())
    broker = RedisServer()
    broker.start()
    folder = tmp_path / "metrics"
    folder.mkdir()
    port = free_port()
    db = settings.DATABASES["default"]
    env = dict(
        os.environ,
        REDIS_URL=broker.url,
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        DEBUG="0",
        STATIC_MANIFEST="0",
        PROMETHEUS_MULTIPROC_DIR=str(folder),
        METRICS_PORT=str(port),
        METRICS_TOKEN=METRICS_TOKEN,
    )
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "portal", "worker", "-c", "2"),
            *("-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat"),
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    previous = celery_app.conf.broker_url
    try:
        wait_for_port(port, timeout=60)
        refused, _, refused_headers = _get_with_headers(port, "/metrics")
        assert refused == 401 and refused_headers["WWW-Authenticate"].startswith("Bearer")
        assert _get(port, "/healthz")[0] == 200
        celery_app.conf.broker_url = broker.url
        celery_app._after_fork()
        celery_app.send_task("ingest.tasks.rollup_recent_days")
        deadline = time.monotonic() + 60
        count = "portal_ingest_job_duration_seconds_count"
        while time.monotonic() < deadline:
            _, text = _get(port, "/metrics", Authorization=f"Bearer {METRICS_TOKEN}")
            found = samples(text)
            if value(found, count, job="release", outcome="ok") >= 1:
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"the worker's metrics never showed the task:\n{text[-3000:]}")
    finally:
        celery_app.conf.broker_url = previous
        celery_app._after_fork()
        process_group_stop(worker)
        broker.stop()
    assert value(found, count, job="rollup", outcome="ok") >= 1
    # Scrape-time gauges are the web server's alone.
    assert not [key for key in found if key[0] == "portal_database_up"]
    # On one machine the web server reads the same folder: it sees the worker's figures.
    web = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from prometheus_client import generate_latest; "
            "from portal.metrics import recorded_registry; "
            "print(generate_latest(recorded_registry()).decode())",
        ],
        cwd=ROOT,
        env=dict(env, METRICS_PORT="", DJANGO_SETTINGS_MODULE="portal.settings"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert value(samples(web.stdout), count, job="release", outcome="ok") >= 1, web.stderr


@pytest.mark.slow  # starts nginx
def test_nginx_never_proxies_metrics(nginx_server):  # noqa: F811 - the imported fixture
    http_port, https_port, _ = nginx_server
    for path in ("/metrics", "//metrics", "/%6Detrics", "/metrics?format=text"):
        for port, tls in ((https_port, True), (http_port, False)):
            # nginx's own 404: a proxied request would be a 502 (no upstream listens), and
            # plain HTTP would be redirected.
            status_line = _nginx_get(port, path, tls=tls).split(b"\r\n")[0]
            assert b" 404 " in status_line, (path, tls, status_line)


def _nginx_get(port: int, path: str, *, tls: bool) -> bytes:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(sock, server_hostname=HOST)
    with sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_the_bare_stack_of_the_server_answers_any_host(settings, db):
    """In gunicorn /metrics goes through portal.wsgi's barest handler: no host check, no
    HTTPS redirect; without a token it is the site's 404."""
    from django.test import RequestFactory

    from portal.wsgi import application

    def call(**headers: str) -> str:
        environ = RequestFactory()._base_environ(
            PATH_INFO="/metrics", REQUEST_METHOD="GET", HTTP_HOST="10.1.2.3:8000", **headers
        )
        statuses = []
        body = b"".join(application(environ, lambda status, _: statuses.append(status)))
        return f"{statuses[0]} {body[:40]!r}"

    settings.SECURE_SSL_REDIRECT = True
    settings.METRICS_TOKEN = ""
    assert call().startswith("404 ")
    settings.METRICS_TOKEN = METRICS_TOKEN
    assert call().startswith("401 ")
    assert call(HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}").startswith("200 ")
