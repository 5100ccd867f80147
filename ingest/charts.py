"""Charts drawn on the server as SVG: they need no JavaScript, no third-party host,
and nothing a strict Content Security Policy would block. Each chart is paired on
the page with a table of the same numbers.
"""

from dataclasses import dataclass, field
from datetime import date

PALETTE = (
    "#0072b2",
    "#d55e00",
    "#009e73",
    "#cc79a7",
    "#e69f00",
    "#56b4e9",
    "#8c564b",
    "#000000",
    "#7f7f7f",
    "#6a3d9a",
)
BAR_HEIGHT = 22
BAR_GAP = 6
LABEL_WIDTH = 230
VALUE_WIDTH = 70


@dataclass
class Bar:
    label: str
    value: float
    y: int
    width: float


@dataclass
class BarChart:
    width: int
    height: int
    plot_x: int
    plot_width: int
    bars: list[Bar]


def bar_chart(groups: list[dict], value_key: str, *, width: int = 720) -> BarChart:
    plot_width = width - LABEL_WIDTH - VALUE_WIDTH
    largest = max((g[value_key] for g in groups), default=0) or 1
    bars = [
        Bar(
            label=group["label"],
            value=group[value_key],
            y=index * (BAR_HEIGHT + BAR_GAP),
            width=max(1.0, plot_width * group[value_key] / largest),
        )
        for index, group in enumerate(groups)
    ]
    height = max(1, len(bars)) * (BAR_HEIGHT + BAR_GAP)
    return BarChart(width, height, LABEL_WIDTH, plot_width, bars)


@dataclass
class Line:
    """One label's line, broken where the label is not shown on a day (so a hidden
    or folded day is a gap, not a misleading zero)."""

    label: str
    colour: str
    segments: list[str]
    dots: list[tuple[float, float]]


@dataclass
class LineChart:
    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    lines: list[Line]
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)


def line_chart(
    series: list[dict], first: date, last: date, *, width: int = 720, height: int = 320
) -> LineChart:
    """One line per label across the days of the range; a missing day is a gap.

    Released figures can be negative (noise); the chart draws them at zero.
    """
    left, top, right, bottom = 56, 12, 12, 36
    plot_width, plot_height = width - left - right, height - top - bottom
    days = max(1, (last - first).days)
    labels = sorted({row["label"] for row in series})
    by_label: dict[str, dict[str, int]] = {label: {} for label in labels}
    for row in series:
        by_label[row["label"]][row["day"]] = row["installations"]
    largest = max((row["installations"] for row in series), default=0) or 1
    largest = -(-largest // 4) * 4  # the top of the scale, so every quarter tick is whole

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
        lines.append(Line(label, PALETTE[index % len(PALETTE)], segments, dots))
    y_ticks = [(y(largest * step / 4), round(largest * step / 4)) for step in range(5)]
    x_ticks = [(x(day), day.isoformat()) for day in _spread(all_days, 5)]
    return LineChart(width, height, left, top, plot_width, plot_height, lines, y_ticks, x_ticks)


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
