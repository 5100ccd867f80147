"""Dimension helpers: bucket order and release lines."""

import pytest

from ingest.dimensions import natural_order, release_line


def test_buckets_keep_their_natural_order():
    labels = [">=500", "<10", "(unknown)", "<3", "<100", ">=50", "<50"]
    assert sorted(labels, key=natural_order) == [
        "<3",
        "<10",
        "<50",
        ">=50",
        "<100",
        ">=500",
        "(unknown)",
    ]


@pytest.mark.parametrize(
    ("release", "line"),
    [
        ("v1.9.4", "v1.9"),
        ("1.10.0-beta.1", "v1.10"),
        ("(unknown)", "(unknown)"),
        ("master", "(development builds)"),
        ("latest", "(development builds)"),
    ],
)
def test_release_lines(release, line):
    assert release_line(release) == line
