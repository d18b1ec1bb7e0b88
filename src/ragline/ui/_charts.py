"""Charts drawn on the server as SVG: a time series and a trace's waterfall.

SVG attributes (not inline styles or scripts) carry every position, so the pages keep
a strict Content-Security-Policy and need no chart library.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

W, H, PAD = 560, 140, 28


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 1:
        return f"{v:.1f}"
    return f"{v:.3g}"


def series_chart(
    points: Sequence[tuple[float, float | None]], *, title: str, unit: str = ""
) -> Markup:
    """A line over time; ``None`` values leave a gap. Empty: a "no data" frame."""
    label = escape(title)
    head = (
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{label}">'
        f"<title>{label}</title>"
    )
    values = [v for _, v in points if v is not None]
    if not points or not values:
        return Markup(
            f'{head}<text x="{W / 2}" y="{H / 2}" text-anchor="middle" class="muted">'
            f"no data yet</text></svg>"
        )
    t0, t1 = points[0][0], points[-1][0]
    peak = max(values)
    top = peak or 1.0  # all zero: a flat line at the bottom
    span = (t1 - t0) or 1.0
    parts: list[str] = []
    path: list[str] = []
    for t, v in points:
        if v is None:
            if path:
                parts.append(" ".join(path))
            path = []
            continue
        x = PAD + (t - t0) / span * (W - 2 * PAD)
        y = H - PAD - v / top * (H - 2 * PAD)
        path.append(f"{'M' if not path else 'L'}{x:.1f},{y:.1f}")
    if path:
        parts.append(" ".join(path))
    lines = "".join(f'<path d="{d}" class="line"/>' for d in parts)
    dots = "".join(
        f'<circle cx="{PAD + (t - t0) / span * (W - 2 * PAD):.1f}" '
        f'cy="{H - PAD - v / top * (H - 2 * PAD):.1f}" r="2" class="dot"/>'
        for t, v in points
        if v is not None
    )
    axis = (
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" class="axis"/>'
        f'<text x="{PAD}" y="{PAD - 8}" class="muted">max {_fmt(peak)} {escape(unit)}</text>'
    )
    return Markup(f"{head}{axis}{lines}{dots}</svg>")


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    offset_ms: float
    duration_ms: float
    depth: int
    error: bool
    anchor: str


def waterfall(bars: Sequence[Bar], total_ms: float) -> Markup:
    """One row per span: its start and length on the trace's time line."""
    row, left, width = 22, 190, 360
    height = row * len(bars) + 8
    total = total_ms or 1.0
    out = [
        f'<svg class="waterfall" viewBox="0 0 {left + width + 70} {height}" role="img" '
        f'aria-label="stage durations"><title>stage durations</title>'
    ]
    for i, b in enumerate(bars):
        y = 4 + i * row
        x = left + b.offset_ms / total * width
        w = max(1.5, b.duration_ms / total * width)
        cls = "bar error" if b.error else "bar"
        name = escape(("· " * b.depth) + b.label)
        out.append(
            f'<a href="#{escape(b.anchor)}"><text x="4" y="{y + 14}" class="name">{name}</text>'
            f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" class="{cls}"/>'
            f'<text x="{min(x + w + 4, left + width + 4):.1f}" y="{y + 14}" class="muted">'
            f"{b.duration_ms:.1f} ms</text></a>"
        )
    out.append("</svg>")
    return Markup("".join(out))


__all__ = ["Bar", "series_chart", "waterfall"]
