"""The ingest admin's client drift page."""

import pytest

from tests.ingest.helpers import post_report

pytestmark = pytest.mark.django_db


def test_maintainers_see_client_drift_summed_over_shards(client, superuser, typical_payload):
    for index in range(12):
        payload = dict(typical_payload, platformID=f"drift{index}", shinyNewField=True)
        assert post_report(client, payload).status_code == 202
    client.force_login(superuser)
    page = client.get("/admin/ingest/discardedfieldcount/").content.decode()
    assert "<code>shinyNewField</code></td><td>12</td>" in page
    assert "<code>browserInfo.language</code></td><td>12</td>" in page
    assert "True" not in page  # the value sent is never shown, only the name
