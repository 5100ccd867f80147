"""A Celery worker whose exports crawl, so a test can kill it mid-export.

Only the test harness slows down; the production code path is unchanged.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project root

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django

django.setup()

from access_requests import export_files  # noqa: E402

export_files.BATCH_ROWS = int(os.environ.get("SLOW_WORKER_BATCH_ROWS", "500"))
export_files.PARQUET_BATCH_ROWS = export_files.BATCH_ROWS
_blocks = export_files._blocks
_batches = export_files._batches


def _slow(blocks):
    for block in blocks:
        time.sleep(float(os.environ.get("SLOW_WORKER_PAUSE", "0.25")))
        yield block


export_files._blocks = lambda export, **options: _slow(_blocks(export, **options))  # PostgreSQL
export_files._batches = lambda export: _slow(_batches(export))  # elsewhere

from celery.__main__ import main  # noqa: E402

sys.exit(main())
