"""Folding rules: every public cell is zero or at least the minimum, and no subtraction
of public figures recovers a smaller group."""

from itertools import combinations

import pytest

from ingest.dimensions import (
    FOLDED,
    fold_children,
    fold_multi,
    fold_partition,
    natural_order,
    release_line,
)

MIN = 10


def public_cells(counts, labels):
    cells = {}
    for value, label in labels.items():
        if label is not None:
            cells[label] = cells.get(label, 0) + counts[value]
    return cells


def test_small_groups_fold_into_other_when_other_reaches_the_minimum():
    counts = {"a": 50, "b": 20, "c": 6, "d": 5}
    labels = fold_partition(counts, MIN)
    assert public_cells(counts, labels) == {"a": 50, "b": 20, FOLDED: 11}


def test_a_small_other_takes_the_smallest_shown_group_with_it():
    """total - a - b would reveal c (3); so b joins the fold."""
    counts = {"a": 50, "b": 12, "c": 3}
    labels = fold_partition(counts, MIN)
    assert public_cells(counts, labels) == {"a": 50, FOLDED: 15}


def test_a_day_below_the_minimum_shows_nothing():
    counts = {"a": 6, "b": 3}
    assert fold_partition(counts, MIN) == {"a": None, "b": None}


def test_a_single_small_group_cannot_be_recovered_from_the_total():
    counts = {"a": 10, "b": 1}
    labels = fold_partition(counts, MIN)
    cells = public_cells(counts, labels)
    assert cells == {FOLDED: 11}


@pytest.mark.parametrize(
    "counts",
    [
        {"a": 100, "b": 9, "c": 1},
        {"a": 10, "b": 10, "c": 9},
        {"a": 11, "b": 1, "c": 1, "d": 1},
        {"a": 9, "b": 9},
        {"a": 30, "b": 25, "c": 14, "d": 2, "e": 1},
    ],
)
def test_no_subset_difference_of_public_cells_reveals_a_small_group(counts):
    labels = fold_partition(counts, MIN)
    cells = public_cells(counts, labels)
    total = sum(cells.values())
    assert all(v >= MIN for v in cells.values())
    # any figure derivable as total minus some public cells is itself a sum of public cells
    for size in range(len(cells) + 1):
        for subset in combinations(cells.values(), size):
            derived = total - sum(subset)
            assert derived == 0 or derived >= MIN


def test_children_fold_inside_their_shown_parent():
    releases = {"v1.9.4": 40, "v1.9.3": 4, "v1.9.2": 3, "v1.8.0": 30, "v1.2.0": 2}
    parent_of = {r: release_line(r) for r in releases}
    lines = {"v1.9": 47, "v1.8": 30, "v1.2": 2}
    line_labels = fold_partition(lines, MIN)
    # v1.2 (2) is small: folded; the fold is too small so v1.8 (smallest shown) joins it
    assert public_cells(lines, line_labels) == {"v1.9": 47, FOLDED: 32}
    labels = fold_children(releases, parent_of, line_labels, MIN)
    cells = public_cells(releases, labels)
    # v1.9.x: 4 + 3 = 7 < 10, so v1.9.4 folds with them; the line figure is not split
    assert cells == {"v1.9 (other)": 47, FOLDED: 32}


def test_children_sum_to_the_parent_figure():
    releases = {"v1.9.4": 40, "v1.9.3": 25, "v1.9.2": 6, "v1.9.1": 5}
    parent_of = {r: release_line(r) for r in releases}
    line_labels = fold_partition({"v1.9": 76}, MIN)
    cells = public_cells(releases, fold_children(releases, parent_of, line_labels, MIN))
    assert cells == {"v1.9.4": 40, "v1.9.3": 25, "v1.9 (other)": 11}
    assert sum(cells.values()) == 76


def test_multi_valued_groups_below_the_minimum_are_suppressed():
    assert fold_multi({"fluxcd": 12, "rare": 9}, MIN) == {"fluxcd": "fluxcd", "rare": None}


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
        ("master", "(unknown)"),
    ],
)
def test_release_lines(release, line):
    assert release_line(release) == line
