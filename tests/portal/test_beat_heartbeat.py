"""Celery beat's heartbeat: a file touched after each pass of its loop (portal/celery.py),
whose age Kubernetes' probe reads (deploy/kubernetes/beat.yaml)."""

import os
import subprocess
import sys
import time

import pytest

from portal.celery import HeartbeatScheduler
from portal.celery import app as celery_app
from tests.servers import process_group_stop
from tests.support import ROOT


@pytest.fixture
def scheduler_for(tmp_path):
    made = []

    def make() -> HeartbeatScheduler:
        scheduler = HeartbeatScheduler(
            app=celery_app, schedule_filename=str(tmp_path / "schedule"), lazy=False
        )
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        scheduler.close()


def test_each_pass_of_the_loop_touches_the_heartbeat(settings, tmp_path, scheduler_for):
    heartbeat = tmp_path / "beat-heartbeat"
    settings.BEAT_HEARTBEAT_FILE = str(heartbeat)
    scheduler = scheduler_for()
    assert not heartbeat.exists()
    scheduler.tick()
    assert heartbeat.exists()
    old = time.time() - 600
    os.utime(heartbeat, (old, old))
    interval = scheduler.tick()
    assert heartbeat.stat().st_mtime > old + 500
    assert interval <= settings.CELERY_BEAT_MAX_LOOP_INTERVAL


def test_a_heartbeat_left_by_an_earlier_run_is_removed_at_start(settings, tmp_path, scheduler_for):
    heartbeat = tmp_path / "beat-heartbeat"
    heartbeat.touch()
    settings.BEAT_HEARTBEAT_FILE = str(heartbeat)
    scheduler_for()
    assert not heartbeat.exists()


def test_without_a_heartbeat_file_none_is_written(settings, tmp_path, scheduler_for):
    settings.BEAT_HEARTBEAT_FILE = ""
    scheduler_for().tick()
    assert sorted(p.name for p in tmp_path.iterdir() if "heartbeat" in p.name) == []


def test_a_heartbeat_that_cannot_be_written_does_not_stop_beat(settings, tmp_path, scheduler_for):
    settings.BEAT_HEARTBEAT_FILE = str(tmp_path / "missing-folder" / "beat-heartbeat")
    assert scheduler_for().tick() >= 0


@pytest.mark.slow  # starts celery beat
def test_a_running_beat_keeps_its_heartbeat_fresh(tmp_path):
    """The real process, configured like the beat pod (no broker needed: beat sends
    nothing in its first seconds)."""
    heartbeat = tmp_path / "beat-heartbeat"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(BEAT_HEARTBEAT_FILE=str(heartbeat), REDIS_URL="", DEBUG="1")
    beat = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "--app=portal", "beat", "--loglevel=WARNING"),
            f"--schedule={tmp_path / 'celerybeat-schedule'}",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not heartbeat.exists() and time.monotonic() < deadline and beat.poll() is None:
            time.sleep(0.2)
        assert heartbeat.exists(), beat.stderr.read().decode()[-2000:] if beat.poll() else ""
        assert time.time() - heartbeat.stat().st_mtime < 60
    finally:
        process_group_stop(beat)
