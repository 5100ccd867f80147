"""Charts drawn on the server as SVG: they need no JavaScript, no third-party host,
and nothing a strict Content Security Policy would block. Each chart is paired on
the page with a table of the same numbers.
"""

import math
from dataclasses import dataclass, field
from datetime import date

SERIES_COLOURS = 10
"""Lines take the classes series-0 ... series-9: their colours are the stylesheet's, one
palette for the light scheme and one for the dark."""
ROW_HEIGHT = 40  # a bar's row: its label and value on one line, the bar under them
BAR_TOP, BAR_THICKNESS = 20, 14
AXIS_HEIGHT = 40  # the unit and the scale's ticks, above the first bar


@dataclass
class Bar:
    label: str
    text: str  # written beside the label: the value and its share
    title: str  # shown on hover: the value in words
    y: int
    percent: float  # the bar's length, in percent of the chart's width
    other: bool


@dataclass
class BarChart:
    """Horizontal bars laid out in percent of the chart's width, with no viewBox: the
    text is drawn at the stylesheet's size however narrow the screen."""

    height: int
    unit: str
    bars: list[Bar]
    ticks: list[tuple[str, str, str]]  # (x in percent, label, text-anchor)


def _scale_top(largest: float) -> int:
    """The top of a scale, so that every quarter tick is a whole number."""
    return max(4, -(-math.ceil(largest) // 4) * 4)


def bar_chart(rows: list[dict], *, unit: str) -> BarChart:
    """``rows``: label, value (the bar's length), text and title, in the table's order."""
    top = _scale_top(max((row["value"] for row in rows), default=0))
    bars = [
        Bar(
            label=row["label"],
            text=row["text"],
            title=row["title"],
            y=AXIS_HEIGHT + index * ROW_HEIGHT,
            percent=round(100 * max(0.0, row["value"]) / top, 2),
            other="(other)" in row["label"],
        )
        for index, row in enumerate(rows)
    ]
    anchors = ("start", "middle", "middle", "middle", "end")
    ticks = [(f"{25 * step}%", str(top * step // 4), anchors[step]) for step in range(5)]
    if not bars:
        ticks = []  # no scale for an empty chart
    height = AXIS_HEIGHT + max(1, len(bars)) * ROW_HEIGHT
    return BarChart(height, unit, bars, ticks)


@dataclass
class Line:
    """One label's line, broken where the label is not shown on a day (so a hidden
    or folded day is a gap, not a misleading zero)."""

    label: str
    series: int  # its colour: the stylesheet's series-<n>
    segments: list[str]
    dots: list[tuple[float, float]]


@dataclass
class DayColumn:
    """A day's strip of the plot: hovering it shows the day's values (an SVG title)."""

    x: float
    width: float
    title: str


@dataclass
class LineChart:
    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    lines: list[Line]
    unit: str = ""
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    columns: list[DayColumn] = field(default_factory=list)


def line_chart(
    series: list[dict],
    first: date,
    last: date,
    *,
    unit: str = "",
    day_titles: dict[str, str] | None = None,
    width: int = 720,
    height: int = 320,
    x_tick_count: int = 5,
) -> LineChart:
    """One line per label across the days of the range; a missing day is a gap.

    Released figures can be negative (noise); the chart draws them at zero.
    ``day_titles``: the text shown on hovering each day (ISO day → text); none, no hover.
    The chart scales with its viewBox, so a narrow screen gets a narrow ``width``.
    """
    left, top, right, bottom = 44, 30, 12, 30
    plot_width, plot_height = width - left - right, height - top - bottom
    days = max(1, (last - first).days)
    labels = sorted({row["label"] for row in series})
    by_label: dict[str, dict[str, int]] = {label: {} for label in labels}
    for row in series:
        by_label[row["label"]][row["day"]] = row["installations"]
    largest = _scale_top(max((row["installations"] for row in series), default=0))

    def x(day: date) -> float:
        return left + plot_width * (day - first).days / days

    def y(value: float) -> float:
        return top + plot_height * (1 - value / largest)

    # first to last inclusive, never a day past last (after 9999-12-31 there is none)
    all_days = [
        date.fromordinal(first.toordinal() + offset) for offset in range((last - first).days + 1)
    ]
    lines = []
    for index, label in enumerate(labels):
        values = by_label[label]
        runs = _runs(
            [
                (x(d), y(max(0, values[d.isoformat()]))) if d.isoformat() in values else None
                for d in all_days
            ]
        )
        segments = [
            " ".join(f"{px:.1f},{py:.1f}" for px, py in run) for run in runs if len(run) > 1
        ]
        dots = [run[0] for run in runs if len(run) == 1]
        lines.append(Line(label, index % SERIES_COLOURS, segments, dots))
    y_ticks = [(y(largest * step / 4), largest * step // 4) for step in range(5)]
    x_ticks = [(x(day), day.isoformat()) for day in _spread(all_days, x_tick_count)]
    chart = LineChart(
        width, height, left, top, plot_width, plot_height, lines, unit, y_ticks, x_ticks
    )
    if day_titles and lines:
        step = plot_width / (len(all_days) - 1) if len(all_days) > 1 else 2.0 * plot_width
        chart.columns = [
            DayColumn(
                x=max(left, x(day) - step / 2),
                width=min(step, left + plot_width - max(left, x(day) - step / 2)),
                title=day_titles[day.isoformat()],
            )
            for day in all_days
            if day.isoformat() in day_titles
        ]
    return chart


def _runs(points: list[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def _spread(days: list[date], count: int) -> list[date]:
    if len(days) <= count:
        return days
    step = (len(days) - 1) / (count - 1)
    return [days[round(index * step)] for index in range(count)]
