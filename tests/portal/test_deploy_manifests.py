"""The container image and the Kubernetes manifests agree with the code they run.

`make deploy-check` validates the Containerfile (hadolint) and the rendered manifests
against Kubernetes' schema; neither knows the portal. These tests hold the manifests to
the portal itself: the variables they set are ones it reads, the ConfigMap is the
production profile, the probes reach the health views and pass under that profile, beat
is single, every process runs as the image's non-root user, the release Job migrates.
"""

import ast
import importlib.util
import json
import os
import re
import runpy
import secrets
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.urls import resolve

from tests.support import ROOT

KUBERNETES = ROOT / "deploy" / "kubernetes"
CONTAINERFILE = ROOT / "Containerfile"
PROFILE = ROOT / "deploy" / "production.env"
PRODUCT_CODE = [ROOT / "portal", ROOT / "ingest", ROOT / "access_requests"]
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"

# The production profile's secrets: in the Secret, never in the ConfigMap.
SECRET_NAMES = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CACHE_URL", "EMAIL_HOST_PASSWORD"}
# Where the ConfigMap departs from the profile, and why.
KUBERNETES_DIFFERENCES = {
    # Inside the pod gunicorn listens on the pod's address; the Service is the only way in.
    "GUNICORN_BIND": "0.0.0.0:8000",
}
# What only Kubernetes needs: web and workers are always different pods, so exports go to
# a bucket (docs/deploy.md).
KUBERNETES_ONLY = {"EXPORT_S3_BUCKET", "EXPORT_S3_ENDPOINT_URL", "EXPORT_S3_REGION"}
# Read by a library, not by the portal's code: the library's source must name them.
READ_BY_LIBRARIES = {"PROMETHEUS_MULTIPROC_DIR": "prometheus_client"}
ENV_READERS = {"envstr", "envbool", "envint", "envlist", "_raw"}
POD_ADDRESS = "10.244.1.17"


def load_renderer():
    spec = importlib.util.spec_from_file_location("kubernetes_render", KUBERNETES / "render.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def rendered() -> tuple[dict, ...]:
    return tuple(load_renderer().render(KUBERNETES))


def resource(kind: str, name: str) -> dict:
    matches = [r for r in rendered() if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}"
    return matches[0]


def pod_specs() -> dict[str, dict]:
    """Every pod template, by its workload's name."""
    specs = {}
    for item in rendered():
        if item["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet", "CronJob"):
            specs[item["metadata"]["name"]] = item["spec"]["template"]["spec"]
    return specs


def containers(spec: dict) -> list[dict]:
    return spec.get("initContainers", []) + spec["containers"]


def all_containers() -> list[dict]:
    return [c for spec in pod_specs().values() for c in containers(spec)]


def web_container() -> dict:
    return pod_specs()["telemetry-portal-web"]["containers"][0]


def configmap() -> dict[str, str]:
    return resource("ConfigMap", "telemetry-portal")["data"]


def secret() -> dict[str, str]:
    return resource("Secret", "telemetry-portal")["stringData"]


def profile() -> dict[str, str]:
    values = {}
    for line in PROFILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


# --- every variable set is one that something reads -----------------------------------


def _names_read_in(path: Path) -> tuple[set[str], set[str]]:
    """(names read through portal.env's readers, which accept NAME_FILE; names read from
    os.environ directly) in one Python file."""
    through_readers, direct = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        name = _constant_argument(node)
        if name is None:
            continue
        call_name = _called_name(node)
        if call_name in ENV_READERS:
            through_readers.add(name)
        elif call_name in ("get", "getenv", "setdefault", "__getitem__"):
            direct.add(name)
    return through_readers, direct


def _constant_argument(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        value = node.args[0].value
    elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        value = node.slice.value  # os.environ["NAME"]
    else:
        return None
    return value if isinstance(value, str) and value.isupper() else None


def _called_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Subscript):
        target = node.value
        return "__getitem__" if ast.unparse(target) == "os.environ" else None
    assert isinstance(node, ast.Call)
    function = node.func
    if isinstance(function, ast.Name):
        return function.id  # envstr("NAME")
    if isinstance(function, ast.Attribute) and ast.unparse(function.value) in ("os.environ", "os"):
        return function.attr  # os.environ.get("NAME"), os.getenv("NAME")
    return None


@cache
def names_read() -> frozenset[str]:
    """Every environment variable the portal's processes read: settings and the product
    code (NAME and NAME_FILE through portal.env), gunicorn's configuration."""
    names: set[str] = set()
    files = [p for folder in PRODUCT_CODE for p in folder.rglob("*.py")] + [GUNICORN_CONF]
    for path in files:
        if "migrations" in path.parts:
            continue
        through_readers, direct = _names_read_in(path)
        names |= through_readers | {f"{name}_FILE" for name in through_readers} | direct
    return frozenset(names)


def names_set_by_manifests() -> dict[str, str]:
    """Each variable the manifests give a process, with where it is set."""
    names = {name: "ConfigMap" for name in configmap()}
    names.update({name: "Secret" for name in secret()})
    for workload, spec in pod_specs().items():
        for container in containers(spec):
            for variable in container.get("env", []):
                names[variable["name"]] = f"{workload}/{container['name']}"
    return names


def names_used_in_commands() -> set[str]:
    """$(NAME) in a command: Kubernetes expands it from the container's environment."""
    used = set()
    for container in all_containers():
        for word in container.get("command", []) + container.get("args", []):
            used |= set(re.findall(r"\$\(([A-Z0-9_]+)\)", word))
    return used


def test_the_reader_scan_finds_what_settings_and_gunicorn_read():
    """The scan below is only as good as its parser: it must see the known readers."""
    read = names_read()
    for name in ("SECRET_KEY", "SECRET_KEY_FILE", "ALLOWED_HOSTS", "EMAIL_HOST_PASSWORD_FILE"):
        assert name in read
    for name in ("GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_FORWARDED_ALLOW_IPS"):
        assert name in read
    assert "GUNICORN_BIND_FILE" not in read  # gunicorn reads os.environ, not portal.env


def test_every_variable_the_manifests_set_is_one_the_portal_reads():
    read = set(names_read()) | names_used_in_commands()
    for name, library in READ_BY_LIBRARIES.items():
        spec = importlib.util.find_spec(library)
        assert spec and spec.submodule_search_locations
        sources = Path(next(iter(spec.submodule_search_locations))).rglob("*.py")
        assert any(name in path.read_text() for path in sources), (name, library)
        read.add(name)
    unread = {name: where for name, where in names_set_by_manifests().items() if name not in read}
    assert not unread, f"set by the manifests, read by nothing: {unread}"


def test_the_workers_concurrency_comes_from_the_configmap():
    """$(CELERY_CONCURRENCY) left unexpanded would reach celery as text: it must be set."""
    for name in names_used_in_commands():
        assert name in configmap() or name in secret(), name


# --- the ConfigMap is the production profile --------------------------------------------


def test_the_configmap_holds_the_profiles_non_secret_values():
    expected = {k: v for k, v in profile().items() if k not in SECRET_NAMES}
    expected.update(KUBERNETES_DIFFERENCES)
    actual = configmap()
    assert {k: actual.get(k) for k in expected} == expected
    assert set(actual) - set(expected) == KUBERNETES_ONLY


def test_the_secrets_are_in_the_secret_and_only_there():
    for name in SECRET_NAMES | {"METRICS_TOKEN"}:
        assert name in secret(), name
        assert name not in configmap(), name
    for name in SECRET_NAMES & set(profile()):
        assert "CHANGE-ME" in secret()[name], f"{name}: a template holds placeholders only"


def manage_check_deploy(environment: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(environment)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow  # two Django start-ups
def test_the_templates_placeholders_stop_the_web_pods_check(tmp_path):
    """As the web pods' init container runs it: with the ConfigMap and the Secret as
    shipped, `check --deploy` fails and names every setting left at CHANGE-ME; filled in,
    that warning is gone."""
    template = {**configmap(), **secret(), "MEDIA_ROOT": str(tmp_path)}
    result = manage_check_deploy(template)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "portal.W011" in output
    for name, value in template.items():
        if "CHANGE-ME" in value:
            assert name in output, name
    filled = {name: value.replace("CHANGE-ME", "x" * 8) for name, value in template.items()}
    filled.update(SECRET_KEY=secrets.token_urlsafe(64), METRICS_TOKEN=secrets.token_urlsafe(32))
    result = manage_check_deploy(filled)
    assert "portal.W011" not in result.stdout + result.stderr
    assert result.returncode == 0, result.stdout + result.stderr


def names_marked_change_in(path: Path) -> set[str]:
    """Keys of a manifest whose value holds CHANGE-ME, or that follow a `# CHANGE` comment
    (up to the next comment)."""
    names, marked, in_comment = set(), False, False
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):  # a comment block is marked by its first line
            marked = (marked and in_comment) or stripped.startswith("# CHANGE")
            in_comment = True
            continue
        in_comment = False
        key = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*):", line)
        if key and (marked or "CHANGE-ME" in line):
            names.add(key.group(1))
        if not stripped:
            marked = False
    return names


def fill_in_table() -> str:
    text = (ROOT / "docs" / "deploy.md").read_text()
    table = re.search(r"\*\*What to fill in\.\*\*(.*?)\n\n[^|\n][^\n]*portal\.W011", text, re.S)
    assert table, "docs/deploy.md has no 'What to fill in' table"
    return table.group(1)


def test_every_value_an_operator_must_fill_in_is_listed_in_the_deploy_guide():
    table = fill_in_table()
    marked = {
        path.name: names_marked_change_in(path)
        for path in sorted(KUBERNETES.glob("*.yaml"))
        if names_marked_change_in(path)
    }
    assert {"EXPORT_S3_BUCKET", "ALLOWED_HOSTS"} <= marked["configmap.yaml"]
    assert {"SECRET_KEY", "METRICS_TOKEN"} <= marked["secret.yaml"]
    assert "newTag" in marked["kustomization.yaml"]
    for file_name, names in marked.items():
        rows = [row for row in table.splitlines() if row.startswith(f"| `{file_name}`")]
        assert rows, f"{file_name} has no row in docs/deploy.md's table"
        for name in names:
            assert any(f"`{name}" in row for row in rows), f"{file_name}: {name} is not listed"
    for name in secret():  # every key of the Secret is the operator's, placeholder or not
        assert f"`{name}" in table, name


def test_every_portal_process_reads_the_configmap_and_the_secret():
    for workload, spec in pod_specs().items():
        for container in containers(spec):
            sources = container.get("envFrom", [])
            assert {"configMapRef": {"name": "telemetry-portal"}} in sources, workload
            assert {"secretRef": {"name": "telemetry-portal"}} in sources, workload


# --- probes ------------------------------------------------------------------------------


def web_probes() -> dict[str, dict]:
    container = web_container()
    return {kind: container[kind] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}


def probe_host(probe: dict) -> str:
    headers = {h["name"].lower(): h["value"] for h in probe["httpGet"].get("httpHeaders", [])}
    return headers["host"]


def test_probes_point_at_the_health_views():
    views = {
        kind: resolve(probe["httpGet"]["path"]).url_name for kind, probe in web_probes().items()
    }
    assert views == {
        "startupProbe": "healthz",
        "livenessProbe": "healthz",
        "readinessProbe": "readyz",
    }


def test_probes_reach_gunicorns_port_and_are_served_over_plain_http():
    ports = {p["name"]: p["containerPort"] for p in web_container()["ports"]}
    bind_port = int(configmap()["GUNICORN_BIND"].rsplit(":", 1)[1])
    for kind, probe in web_probes().items():
        http_get = probe["httpGet"]
        assert ports[http_get["port"]] == bind_port, kind
        assert http_get.get("scheme", "HTTP") == "HTTP", kind
        path = http_get["path"]
        assert path in settings.LEAN_PATHS, kind
        exempt = [re.compile(pattern) for pattern in settings.SECURE_REDIRECT_EXEMPT]
        assert any(p.search(path.lstrip("/")) for p in exempt), f"{kind}: redirected to HTTPS"


def test_probes_send_a_host_the_portal_accepts():
    """The kubelet's Host is the pod's address, which ALLOWED_HOSTS does not hold."""
    allowed = configmap()["ALLOWED_HOSTS"].split(",")
    for kind, probe in web_probes().items():
        assert probe_host(probe) in allowed, kind


PROBE_RUN = r"""
import io, json, sys
from portal.wsgi import application

def get(path, host, **headers):
    environ = {**headers,
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_NAME": sys.argv[1], "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": sys.argv[1], "HTTP_HOST": host, "HTTP_USER_AGENT": "kube-probe/1.33",
        "HTTP_ACCEPT": "*/*", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "wsgi.version": (1, 0),
    }
    status = []
    body = b"".join(application(environ, lambda s, h, e=None: status.append(s)))
    return int(status[0].split()[0]), body.decode()

probes = json.loads(sys.argv[2])
print(json.dumps({
    "probes": {kind: get(path, host) for kind, (path, host) in probes.items()},
    "pod_address_as_host": get("/healthz", sys.argv[1] + ":8000")[0],
    "metrics_on_pod_address": get(
        "/metrics", sys.argv[1] + ":8000", HTTP_AUTHORIZATION="Bearer " + sys.argv[3]
    ),
}))
"""


@pytest.mark.slow
def test_the_probes_pass_under_the_configmaps_profile(tmp_path):
    """The web app, configured by the ConfigMap (the Secret's placeholders replaced), as
    the kubelet calls it: plain HTTP, the pod's address, the probe's Host header."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(configmap())
    env.update(
        SECRET_KEY=secrets.token_urlsafe(64),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL="",
        CACHE_URL="",
        STATIC_MANIFEST="0",  # collectstatic is the image build's, not under test here
        MEDIA_ROOT=str(tmp_path / "media"),
        LOG_LEVEL="ERROR",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    metrics_token = env["METRICS_TOKEN"] = secrets.token_urlsafe(32)
    probes = {kind: (p["httpGet"]["path"], probe_host(p)) for kind, p in web_probes().items()}
    result = subprocess.run(
        [sys.executable, "-c", PROBE_RUN, POD_ADDRESS, json.dumps(probes), metrics_token],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    for kind, (status, body) in answers["probes"].items():
        assert status == 200, (kind, body)
        assert json.loads(body)["status"] == "ok", kind
    # Without the header the kubelet's own Host would be refused: the header is needed.
    assert answers["pod_address_as_host"] == 400
    # Prometheus scrapes each pod by its address, over plain HTTP (the annotations in web.yaml).
    status, exposition = answers["metrics_on_pod_address"]
    assert status == 200, exposition[:300]
    assert "portal_database_up 1.0" in exposition


def test_web_stops_within_its_grace_period():
    """preStop's pause, then gunicorn's graceful_timeout, fit in the grace period."""
    graceful_timeout = runpy.run_path(str(GUNICORN_CONF))["graceful_timeout"]
    pre_stop = web_container()["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    grace = pod_specs()["telemetry-portal-web"]["terminationGracePeriodSeconds"]
    assert grace >= int(pre_stop[1]) + graceful_timeout


# --- the worker's and beat's probes -------------------------------------------------------


def container_of(workload: str) -> dict:
    return pod_specs()[workload]["containers"][0]


def probes_of(container: dict) -> dict[str, dict]:
    kinds = ("startupProbe", "livenessProbe", "readinessProbe")
    return {kind: container[kind] for kind in kinds if kind in container}


def test_every_long_running_pod_has_a_liveness_probe():
    for workload in ("telemetry-portal-web", "telemetry-portal-worker", "telemetry-portal-beat"):
        probes = probes_of(container_of(workload))
        assert {"startupProbe", "livenessProbe"} <= set(probes), workload


def test_no_probe_starts_python_or_celery():
    """An exec probe runs a process every period: a Python or Celery start-up (hundreds of
    milliseconds of CPU, tens of MiB) would cost more than what it checks."""
    for container in all_containers():
        for kind, probe in probes_of(container).items():
            if "exec" not in probe:
                continue
            words = " ".join(probe["exec"]["command"])
            assert not re.search(r"python|celery|manage\.py", words), (container["name"], kind)


def test_the_workers_probes_ask_its_metrics_port_for_health_without_a_token(settings):
    """The kubelet can send no secret: the path it asks answers 200 without the token, and
    the metrics beside it still want the token."""
    from portal import metrics as portal_metrics

    worker = container_of("telemetry-portal-worker")
    env = {v["name"]: v.get("value") for v in worker["env"]}
    ports = {p["name"]: p["containerPort"] for p in worker["ports"]}
    settings.METRICS_TOKEN = secrets.token_urlsafe(32)
    application = portal_metrics.worker_metrics_application(portal_metrics.recorded_registry())

    def status_of(path: str) -> int:
        statuses: list[str] = []
        environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "QUERY_STRING": ""}
        b"".join(application(environ, lambda status, headers: statuses.append(status)))
        return int(statuses[0].split()[0])

    assert {"startupProbe", "livenessProbe"} <= set(probes_of(worker))
    for kind, probe in probes_of(worker).items():
        http_get = probe["httpGet"]
        assert ports[http_get["port"]] == int(env["METRICS_PORT"]), kind
        assert status_of(http_get["path"]) == 200, kind
    assert status_of(portal_metrics.WORKER_METRICS_PATH) == 401


def beat_probe_commands() -> dict[str, list[str]]:
    beat = container_of("telemetry-portal-beat")
    return {kind: probe["exec"]["command"] for kind, probe in probes_of(beat).items()}


def beat_heartbeat_file() -> str:
    beat = container_of("telemetry-portal-beat")
    return {v["name"]: v.get("value") for v in beat["env"]}["BEAT_HEARTBEAT_FILE"]


def run_beat_probe(command: list[str], heartbeat: Path) -> int:
    local = [word.replace(beat_heartbeat_file(), str(heartbeat)) for word in command]
    return subprocess.run(local, timeout=10).returncode


def test_beats_probe_passes_on_a_fresh_heartbeat_and_fails_on_a_stale_or_missing_one(tmp_path):
    heartbeat = tmp_path / "beat-heartbeat"
    commands = beat_probe_commands()
    assert set(commands) == {"startupProbe", "livenessProbe"}
    for kind, command in commands.items():
        assert beat_heartbeat_file() in " ".join(command), kind
        assert run_beat_probe(command, heartbeat) != 0, f"{kind}: passes without a heartbeat"
        heartbeat.touch()
        assert run_beat_probe(command, heartbeat) == 0, kind
        old = heartbeat.stat().st_mtime - 4 * 60
        os.utime(heartbeat, (old, old))
        assert run_beat_probe(command, heartbeat) != 0, f"{kind}: passes on a stale heartbeat"
        heartbeat.unlink()


def test_beats_heartbeat_is_written_more_often_than_its_probe_calls_it_stale():
    """Beat passes its loop at least every CELERY_BEAT_MAX_LOOP_INTERVAL seconds: a healthy
    beat must never look stale, even with a pass late."""
    mounts = {m["mountPath"] for m in container_of("telemetry-portal-beat")["volumeMounts"]}
    assert str(Path(beat_heartbeat_file()).parent) in mounts  # writable: an emptyDir
    assert settings.CELERY_BEAT_SCHEDULER == "portal.celery:HeartbeatScheduler"
    for kind, command in beat_probe_commands().items():
        minutes = re.search(r"-mmin -(\d+)", " ".join(command))
        assert minutes, kind
        assert int(minutes.group(1)) * 60 >= 2 * settings.CELERY_BEAT_MAX_LOOP_INTERVAL, kind


# --- database connections, as the deploy guide counts them --------------------------------


TIMES = "\N{MULTIPLICATION SIGN}"  # as the guide writes its arithmetic


def test_the_deploy_guides_connection_count_has_the_group_committer():
    """With group commit on (the default) each gunicorn worker process holds one more
    connection than it has threads: the guide's arithmetic must count it, with the
    profile's and the base's figures."""
    assert settings.INGEST_GROUP_COMMIT
    guide = " ".join((ROOT / "docs" / "deploy.md").read_text().split())
    assert f"GUNICORN_WORKERS {TIMES} (GUNICORN_THREADS + 1)" in guide
    values = profile()
    workers, threads = int(values["GUNICORN_WORKERS"]), int(values["GUNICORN_THREADS"])
    concurrency = int(values["CELERY_CONCURRENCY"])
    per_machine = workers * (threads + 1) + concurrency + 5
    figures = f"{workers} {TIMES} ({threads} + 1) + {concurrency} + 5 = {per_machine}"
    assert f"{figures} per machine" in guide
    web_pods = resource("Deployment", "telemetry-portal-web")["spec"]["replicas"]
    worker_pods = resource("Deployment", "telemetry-portal-worker")["spec"]["replicas"]
    per_web_pod = int(configmap()["GUNICORN_WORKERS"]) * (int(configmap()["GUNICORN_THREADS"]) + 1)
    pod_concurrency = worker_pods * int(configmap()["CELERY_CONCURRENCY"])
    total = web_pods * per_web_pod + pod_concurrency + 5
    assert f"{per_web_pod} in all" in guide
    assert f"{web_pods} {TIMES} {per_web_pod} + {pod_concurrency} + 5 = {total}" in guide


# --- beat, the release Job -------------------------------------------------------------


def celery_subcommand(container: dict) -> str | None:
    command = container.get("command", [])
    if not command or command[0] != "celery":
        return None
    return next(word for word in command[1:] if not word.startswith("-"))


def test_beat_runs_exactly_once():
    beat = resource("Deployment", "telemetry-portal-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    beats = [
        name
        for name, spec in pod_specs().items()
        for container in containers(spec)
        if celery_subcommand(container) == "beat"
        or {"-B", "--beat"} & set(container.get("command", []))
    ]
    assert beats == ["telemetry-portal-beat"]
    assert not beat["spec"].get("autoscaling")


def test_the_release_job_runs_migrate():
    job = resource("Job", "telemetry-portal-release")
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    commands = [c["command"] for c in spec["containers"]]
    assert ["python", "manage.py", "migrate", "--noinput"] in commands


# --- the image and the pods' security ---------------------------------------------------


def containerfile_stages() -> list[list[str]]:
    """The Containerfile's instructions (continuation lines joined), per stage."""
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def instructions(stage: list[str], keyword: str) -> list[str]:
    prefix = keyword + " "
    return [line[len(prefix) :] for line in stage if line.upper().startswith(prefix)]


def image_user() -> tuple[int, int]:
    user = instructions(containerfile_stages()[-1], "USER")[-1]
    uid, _, gid = user.partition(":")
    return int(uid), int(gid)


def test_the_image_runs_as_a_fixed_non_root_user():
    uid, gid = image_user()
    assert uid != 0 and gid != 0
    runtime = " ".join(instructions(containerfile_stages()[-1], "RUN"))
    assert f"--uid {uid}" in runtime and f"--gid {gid}" in runtime


def test_every_pod_runs_as_the_images_user_without_privileges():
    uid, gid = image_user()
    for workload, spec in pod_specs().items():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, workload
        assert (pod["runAsUser"], pod["runAsGroup"]) == (uid, gid), workload
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, workload
        assert spec["automountServiceAccountToken"] is False, workload
        for container in containers(spec):
            where = f"{workload}/{container['name']}"
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            assert {"requests", "limits"} <= set(container["resources"]), where


def test_the_writable_places_are_volumes():
    """A read-only root: /tmp everywhere, the metrics directory where it is set, and
    MEDIA_ROOT in the worker, which builds exports there."""
    for workload, spec in pod_specs().items():
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in containers(spec):
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            where = f"{workload}/{container['name']}"
            assert "/tmp" in mounts, where
            env = {v["name"]: v.get("value") for v in container.get("env", [])}
            if "PROMETHEUS_MULTIPROC_DIR" in env:
                directory = env["PROMETHEUS_MULTIPROC_DIR"]
                assert "emptyDir" in volumes[mounts[directory]], where
    worker = pod_specs()["telemetry-portal-worker"]["containers"][0]
    mounts = {m["mountPath"] for m in worker["volumeMounts"]}
    assert configmap()["MEDIA_ROOT"] in mounts


def test_web_and_worker_share_the_agreed_metrics_settings():
    for workload in ("telemetry-portal-web", "telemetry-portal-worker"):
        env = {v["name"]: v.get("value") for v in pod_specs()[workload]["containers"][0]["env"]}
        assert env["PROMETHEUS_MULTIPROC_DIR"] == "/run/metrics", workload
    worker = pod_specs()["telemetry-portal-worker"]["containers"][0]
    env = {v["name"]: v.get("value") for v in worker["env"]}
    assert {"name": "metrics", "containerPort": int(env["METRICS_PORT"]), "protocol": "TCP"} in (
        worker["ports"]
    )
    service_ports = {
        p["targetPort"] for p in resource("Service", "telemetry-portal-web")["spec"]["ports"]
    }
    assert "metrics" not in service_ports and int(env["METRICS_PORT"]) not in service_ports


def test_the_containerfiles_gunicorn_config_exists():
    cmd = json.loads(instructions(containerfile_stages()[-1], "CMD")[-1])
    for command in (cmd, web_container()["command"]):
        assert command[0] == "gunicorn"
        config = command[command.index("--config") + 1]
        assert (ROOT / config).is_file(), config
        assert command[-1] == "portal.wsgi"
    assert web_container()["command"] == cmd


def test_the_image_is_built_from_the_hash_checked_lock_on_a_pinned_base():
    stages = containerfile_stages()
    bases = [instructions(stage, "FROM")[0].split()[0] for stage in stages]
    # Both stages on the same image: the virtualenv is copied between them.
    assert len(set(bases)) == 1
    assert re.fullmatch(
        r"docker\.io/library/python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", bases[0]
    )
    build = " ".join(instructions(stages[0], "RUN"))
    assert "--require-hashes -r /tmp/requirements.lock" in build
    assert "compilemessages" in build and "collectstatic" in build
    assert "gettext" in build
    assert not any("apt-get" in line for line in instructions(stages[-1], "RUN"))


def copied_sources() -> set[str]:
    sources = set()
    for stage in containerfile_stages():
        for copy in instructions(stage, "COPY"):
            if copy.startswith("--from="):
                continue
            sources |= set(shlex.split(copy)[:-1])
    return sources


def test_the_build_context_holds_what_the_containerfile_copies():
    """The ignore file lets through exactly what is copied (and Docker reads the same)."""
    ignore = (ROOT / ".containerignore").read_text()
    assert (ROOT / ".dockerignore").read_text() == ignore
    kept = {line[1:] for line in ignore.splitlines() if line.startswith("!")}
    assert kept == copied_sources()
    for source in kept:
        assert (ROOT / source).exists(), source


# --- the manifests hang together --------------------------------------------------------


def test_selectors_match_their_pods():
    for item in rendered():
        if item["kind"] == "Deployment":
            selector = item["spec"]["selector"]["matchLabels"]
            labels = item["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= labels.items(), item["metadata"]["name"]
    pod_labels = {
        name: resource("Deployment", name)["spec"]["template"]["metadata"]["labels"]
        for name in ("telemetry-portal-web", "telemetry-portal-worker")
    }
    for kind in ("Service", "PodDisruptionBudget"):
        spec = resource(kind, "telemetry-portal-web")["spec"]
        selector = spec["selector"].get("matchLabels", spec["selector"])
        assert selector.items() <= pod_labels["telemetry-portal-web"].items(), kind
        # ... and only them: not the workers, which serve no HTTP.
        assert not selector.items() <= pod_labels["telemetry-portal-worker"].items(), kind


def test_the_ingress_serves_both_telemetry_hosts_through_the_service():
    ingress = resource("Ingress", "telemetry-portal")["spec"]
    service = resource("Service", "telemetry-portal-web")
    port_names = {p["name"] for p in service["spec"]["ports"]}
    hosts = set()
    for rule in ingress["rules"]:
        hosts.add(rule["host"])
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == service["metadata"]["name"]
            assert backend["port"]["name"] in port_names
    assert hosts == {settings.TELEMETRY_ENDPOINT_HOST, settings.TELEMETRY_LEGACY_HOST}
    assert hosts == set(configmap()["ALLOWED_HOSTS"].split(","))
    assert {h for tls in ingress["tls"] for h in tls["hosts"]} == hosts


def test_every_container_runs_the_kustomizations_image():
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    (rule,) = kustomization["images"]
    for container in all_containers():
        assert container["image"] == f"{rule['newName']}:{rule['newTag']}", container["name"]


# --- the renderer refuses what it cannot render ---------------------------------------


@pytest.fixture
def base_copy(tmp_path):
    folder = tmp_path / "kubernetes"
    shutil.copytree(KUBERNETES, folder)
    return folder


def test_the_renderer_refuses_a_yaml_file_the_kustomization_does_not_list(base_copy):
    (base_copy / "networkpolicy.yaml").write_text("kind: NetworkPolicy\n")
    with pytest.raises(Exception, match="not listed"):
        load_renderer().render(base_copy)


def test_the_renderer_refuses_a_kustomize_feature_it_does_not_render(base_copy):
    kustomization = base_copy / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "patches:\n  - path: web-patch.yaml\n")
    with pytest.raises(Exception, match="does not render"):
        load_renderer().render(base_copy)


def test_the_renderer_sets_the_namespace_and_pins_the_image_by_digest(base_copy):
    kustomization = base_copy / "kustomization.yaml"
    digest = "sha256:" + "0" * 64
    kustomization.write_text(
        kustomization.read_text().replace("    newTag: CHANGE-ME", f"    digest: {digest}")
    )
    resources = load_renderer().render(base_copy)
    for item in resources:
        if item["kind"] != "Namespace":
            assert item["metadata"]["namespace"] == "telemetry-portal"
    images = {
        c["image"]
        for spec in [r for r in resources if r["kind"] == "Deployment"]
        for c in spec["spec"]["template"]["spec"]["containers"]
    }
    assert images == {f"registry.example.org/kubevela/telemetry-portal@{digest}"}


# --- against kustomize itself, where kubectl is installed ----------------------------


def kustomize(folder: Path) -> list[dict]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the base is not rendered by kustomize itself")
    result = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [item for item in yaml.safe_load_all(result.stdout) if item]


def by_kind_and_name(resources) -> dict[tuple[str, str], dict]:
    return {(item["kind"], item["metadata"]["name"]): item for item in resources}


def test_the_renderer_renders_what_kustomize_does():
    assert by_kind_and_name(kustomize(KUBERNETES)) == by_kind_and_name(rendered())


def test_the_documented_overlay_replaces_the_image_and_leaves_the_secret_out(tmp_path):
    """docs/deploy.md's overlay, as written there, over a copy of the base."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    overlay = re.search(r"```yaml\n# overlay/kustomization.yaml\n(.*?)```", text, re.S)
    assert overlay, "docs/deploy.md has no overlay example"
    digest = "sha256:" + "1" * 64
    shutil.copytree(KUBERNETES, tmp_path / "deploy" / "kubernetes")
    (tmp_path / "overlay").mkdir()
    (tmp_path / "overlay" / "kustomization.yaml").write_text(
        overlay.group(1).replace("sha256:<the digest podman push printed>", digest)
    )
    resources = by_kind_and_name(kustomize(tmp_path / "overlay"))
    assert ("Secret", "telemetry-portal") not in resources
    images = {
        container["image"]
        for item in resources.values()
        if item["kind"] in ("Deployment", "Job")
        for container in containers(item["spec"]["template"]["spec"])
    }
    assert images == {f"registry.example.org/kubevela/telemetry-portal@{digest}"}
    assert resources[("ConfigMap", "telemetry-portal")]["data"]["GUNICORN_BIND"] == "0.0.0.0:8000"
