"""Bar charts drawn on the server as plain SVG geometry; the template only writes the elements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH = 720
HEIGHT = 200
LABEL_SPACE = 20  # below the bars, for the dates


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str
    title: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    peak: int
    label_every: int


def bar_chart(points: list[tuple[str, int]], unit: str = "") -> BarChart:
    """Bars scaled to the largest value (negative values draw as empty bars)."""
    peak = max((value for _, value in points), default=0)
    plot = HEIGHT - LABEL_SPACE
    slot = WIDTH / max(len(points), 1)
    bars = []
    for i, (label, value) in enumerate(points):
        height = plot * value / peak if peak > 0 and value > 0 else 0
        bars.append(
            Bar(
                x=round(i * slot + slot * 0.1, 2),
                y=round(plot - height, 2),
                width=round(slot * 0.8, 2),
                height=round(height, 2),
                value=value,
                label=label,
                title=f"{label}: {value:,}{unit}",
            )
        )
    return BarChart(WIDTH, HEIGHT, bars, peak, label_every=max(len(points) // 6, 1))


def kilograms(grams: int) -> int:
    return grams // 1000


def sales_by_day(board: dict[str, Any]) -> BarChart:
    """Net kilograms sold per bucket of a dashboard (see `services.reporting.dashboard.dashboard`)."""
    return bar_chart(
        [(f"{row['start']:%m-%d}", kilograms(row["net_sold_g"])) for row in board["buckets"]], " kg"
    )
