"""`make run`'s demo data: accounts, telemetry, rollups and a request to review."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from access_requests.models import AccessRequest
from ingest.models import Report, RollupDay

pytestmark = pytest.mark.django_db


def test_demo_data_gives_every_role_something_to_do(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo", installations=30, days=3, verbosity=0)
    users = get_user_model().objects
    assert users.get(username="admin").is_superuser
    assert users.get(username="maintainer").groups.filter(name="maintainers").exists()
    assert users.get(username="auditor").groups.filter(name="auditors").exists()
    assert Report.objects.exists() and RollupDay.objects.exists()
    pending = AccessRequest.objects.get(applicant__username="member")
    assert pending.is_pending
    assert "one request waiting for review" in capsys.readouterr().out

    call_command("seed_demo", installations=30, days=3, verbosity=0)  # again: nothing doubles
    assert AccessRequest.objects.filter(applicant__username="member").count() == 1


def test_demo_data_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", installations=5, days=1, verbosity=0)
