"""Small server-rendered SVG: sparklines, bar charts and notice areas on a plain map.

Everything here returns markup-safe text built only from numbers and escaped labels, so
that templates can embed it with ``|safe``. The text labels (what a screen reader says)
are in the reader's language and locale (:class:`hub.i18n.Reader`, English by default).
Gaps (None) break a line; they are never interpolated, so a device that was offline shows
as a hole, not as a made-up slope.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from hub.i18n import Reader
from hub.i18n.words import N_

_ENGLISH = Reader()

WIDTH = 160
HEIGHT = 40
PAD = 2


def _fmt(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _or(value: float | None, fallback: float | None) -> float:
    found = value if value is not None else fallback
    assert found is not None  # only known points are drawn
    return found


def sparkline(values: Sequence[float | None], *, title: str, unit: str = "",
              mins: Sequence[float | None] | None = None, maxs: Sequence[float | None] | None = None,
              reader: Reader = _ENGLISH) -> str:
    """A line chart of ``values`` (None = gap) as an ``<svg role="img">`` with a text label.

    With ``mins`` and ``maxs`` (per point, e.g. a time bucket's range) a band is drawn
    behind the line; each run of known points gets its own band, so gaps stay gaps.
    """
    known = [v for v in values if v is not None]
    u = f" {unit}" if unit else ""
    lows = [v for v in (mins or ()) if v is not None] or known
    highs = [v for v in (maxs or ()) if v is not None] or known
    shown = reader.say(title)
    if known:
        label = escape(reader.say(N_("%(title)s: latest %(latest)s, min %(min)s, max %(max)s", title=shown,
                                     latest=_num(reader, known[-1]) + u, min=_num(reader, min(lows)) + u,
                                     max=_num(reader, max(highs)) + u)))
    else:
        label = escape(reader.say(N_("%(title)s: no data", title=shown)))
    if not known:
        return (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}">'
                f'<title>{label}</title></svg>')
    lo, hi = min(lows + known), max(highs + known)
    span = (hi - lo) or 1.0
    n = max(len(values) - 1, 1)

    def y_of(v: float) -> float:
        # A flat series sits in the middle rather than on the floor.
        return HEIGHT / 2 if hi == lo else HEIGHT - PAD - (HEIGHT - 2 * PAD) * (v - lo) / span

    runs: list[list[int]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(i)
    shapes = [f'<rect class="frame" width="{WIDTH}" height="{HEIGHT}"/>']
    for run in runs:
        if not run:
            continue
        xs = {i: PAD + (WIDTH - 2 * PAD) * i / n for i in run}
        if mins is not None and maxs is not None and len(run) > 1:
            top = [f"{_fmt(xs[i])},{_fmt(y_of(_or(maxs[i], values[i])))}" for i in run]
            bottom = [f"{_fmt(xs[i])},{_fmt(y_of(_or(mins[i], values[i])))}" for i in reversed(run)]
            shapes.append(f'<polygon class="band" points="{" ".join(top + bottom)}"/>')
        points = [f"{_fmt(xs[i])},{_fmt(y_of(values[i]))}" for i in run]  # type: ignore[arg-type]
        if len(points) == 1:
            cx, cy = points[0].split(",")
            shapes.append(f'<circle cx="{cx}" cy="{cy}" r="2.5"/>')
        else:
            shapes.append(f'<polyline points="{" ".join(points)}"/>')
    return (f'<svg class="chart chart-line" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}">'
            f'<title>{label}</title>{"".join(shapes)}</svg>')


def bars(values: Sequence[float | None], labels: Sequence[str], *, title: str, unit: str = "",
         reader: Reader = _ENGLISH) -> str:
    """A bar chart (one bar per day, None = no data that day) as an ``<svg role="img">``."""
    known = [v for v in values if v is not None]
    nothing = reader.say(N_("no data"))
    parts = [f"{lab} {_num(reader, v)} {unit}" if v is not None else f"{lab} {nothing}"
             for lab, v in zip(labels, values, strict=False)]
    label = escape(f"{reader.say(title)}: " + ("; ".join(parts) if parts else nothing))
    hi = max(known) if known and max(known) > 0 else 1.0
    n = max(len(values), 1)
    slot = (WIDTH - 2 * PAD) / n
    shapes = [f'<rect class="frame" width="{WIDTH}" height="{HEIGHT}"/>']
    for i, v in enumerate(values):
        x = PAD + i * slot + slot * 0.15
        if v is None:
            shapes.append(f'<rect class="gap" x="{_fmt(x)}" y="{HEIGHT - PAD - 1}" '
                          f'width="{_fmt(slot * 0.7)}" height="1"/>')
            continue
        h = max((HEIGHT - 2 * PAD) * max(v, 0.0) / hi, 1.0)
        shapes.append(f'<rect x="{_fmt(x)}" y="{_fmt(HEIGHT - PAD - h)}" width="{_fmt(slot * 0.7)}" '
                      f'height="{_fmt(h)}"/>')
    return (f'<svg class="chart chart-bars" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}">'
            f'<title>{label}</title>{"".join(shapes)}</svg>')


def _num(reader: Reader, value: float) -> str:
    """A chart figure in the reader's locale, to one decimal like the drawing."""
    return reader.number(round(float(value), 1))


def chart(spec: dict[str, Any], reader: Reader = _ENGLISH) -> str:
    """The SVG of one chart spec from :func:`hub.dashboards.data.device_charts`."""
    if spec.get("kind") == "bars":
        return bars(spec["values"], spec.get("labels", []), title=spec["title"], unit=spec.get("unit", ""),
                    reader=reader)
    return sparkline(spec["values"], title=spec["title"], unit=spec.get("unit", ""),
                     mins=spec.get("mins"), maxs=spec.get("maxs"), reader=reader)


# -- areas ------------------------------------------------------------------------------------

MAP_W = 480
MAP_H = 320


@dataclass(frozen=True, slots=True)
class _Frame:
    """An equirectangular projection of a bounding box onto the map's viewBox."""

    lat0: float
    lon0: float
    scale: float  # px per degree of latitude
    kx: float  # cos(mid latitude): a degree of longitude is shorter away from the equator
    ox: float
    oy: float

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        return (self.ox + (lon - self.lon0) * self.kx * self.scale,
                self.oy + (self.lat0 - lat) * self.scale)


def _frame(points: Sequence[tuple[float, float]]) -> _Frame:
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    mid = (min(lats) + max(lats)) / 2
    kx = max(math.cos(math.radians(mid)), 0.05)
    dlat = max(max(lats) - min(lats), 1e-4)
    dlon = max((max(lons) - min(lons)) * kx, 1e-4)
    margin = 24
    scale = min((MAP_W - 2 * margin) / dlon, (MAP_H - 2 * margin) / dlat)
    ox = (MAP_W - dlon * scale) / 2
    oy = (MAP_H - dlat * scale) / 2
    return _Frame(max(lats), min(lons), scale, kx, ox, oy)


def area_map(notices: Sequence[dict[str, Any]], *, marker: tuple[float, float] | None = None,
             marker_label: str = "", homes: Sequence[tuple[float, float, str]] = (),
             reader: Reader = _ENGLISH) -> str:
    """Every notice's polygons and circles on a plain background, as an ``<svg role="img">``.

    Used when no map tile URL is configured (the demo has no internet). ``marker`` is the
    viewer's own home, if known; ``homes`` are dots with a name, for an admin who may see
    where the community's households are (the frame then shows the whole community).
    """
    points: list[tuple[float, float]] = [(lat, lon) for lat, lon, _ in homes]
    for n in notices:
        area = n.get("area") or {}
        for ring in area.get("polygons", []):
            points.extend((float(a), float(b)) for a, b in ring)
        for lat, lon, r in area.get("circles", []):
            dlat = float(r) / 111.2
            dlon = dlat / max(math.cos(math.radians(float(lat))), 0.05)
            points += [(lat - dlat, lon - dlon), (lat + dlat, lon + dlon)]
    if marker is not None:
        points.append(marker)
    descs = [str((n.get("area") or {}).get("description") or n.get("headline") or n.get("id")) for n in notices]
    label = (escape(reader.say(N_("Map of the affected areas: %(areas)s", areas="; ".join(descs))))
             if notices else escape(reader.say(N_("Map: no active notice areas"))))
    if not points:
        return (f'<svg class="area-map" viewBox="0 0 {MAP_W} {MAP_H}" role="img" aria-label="{label}">'
                f'<title>{label}</title><rect class="land" width="{MAP_W}" height="{MAP_H}"/>'
                f'<text x="{MAP_W // 2}" y="{MAP_H // 2}" text-anchor="middle">'
                f'{escape(reader.say(N_("no area to draw")))}</text></svg>')
    f = _frame(points)
    shapes = [f'<rect class="land" width="{MAP_W}" height="{MAP_H}"/>', _graticule(f)]
    for i, n in enumerate(notices):
        area = n.get("area") or {}
        cls = f"area area-{i % 4}"
        name = escape(str(n.get("headline") or n.get("event") or n.get("id")))
        for ring in area.get("polygons", []):
            pts = " ".join("{},{}".format(*map(_fmt, f.xy(float(a), float(b)))) for a, b in ring)
            shapes.append(f'<polygon class="{cls}" points="{pts}"><title>{name}</title></polygon>')
        for lat, lon, r in area.get("circles", []):
            x, y = f.xy(float(lat), float(lon))
            shapes.append(f'<circle class="{cls}" cx="{_fmt(x)}" cy="{_fmt(y)}" '
                          f'r="{_fmt(float(r) / 111.2 * f.scale)}"><title>{name}</title></circle>')
    for lat, lon, name in homes:
        x, y = f.xy(lat, lon)
        shapes.append(f'<circle class="household" cx="{_fmt(x)}" cy="{_fmt(y)}" r="3">'
                      f'<title>{escape(name)}</title></circle>')
    if marker is not None:
        x, y = f.xy(*marker)
        shapes.append(f'<g class="home"><circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="5"/>'
                      f'<text x="{_fmt(x + 8)}" y="{_fmt(y + 4)}">{escape(marker_label)}</text></g>')
    shapes.append(_scale_bar(f, reader))
    return (f'<svg class="area-map" viewBox="0 0 {MAP_W} {MAP_H}" role="img" aria-label="{label}">'
            f'<title>{label}</title>{"".join(shapes)}</svg>')


def _graticule(f: _Frame) -> str:
    """Faint lines every 0.01° (about 1 km) so the plain background has a sense of scale."""
    lines: list[str] = []
    step = 0.01 if f.scale > 2000 else 0.1
    lat_top = f.lat0
    lat_bottom = f.lat0 - (MAP_H - f.oy) / f.scale
    lat = math.floor(lat_bottom / step) * step
    while lat <= lat_top + step and len(lines) < 60:
        y = f.xy(lat, f.lon0)[1]
        lines.append(f'<line x1="0" x2="{MAP_W}" y1="{_fmt(y)}" y2="{_fmt(y)}"/>')
        lat += step
    lon_right = f.lon0 + (MAP_W - f.ox) / (f.kx * f.scale)
    lon = math.floor((f.lon0 - f.ox / (f.kx * f.scale)) / step) * step
    while lon <= lon_right and len(lines) < 120:
        x = f.xy(f.lat0, lon)[0]
        lines.append(f'<line y1="0" y2="{MAP_H}" x1="{_fmt(x)}" x2="{_fmt(x)}"/>')
        lon += step
    return f'<g class="grid">{"".join(lines)}</g>'


def _scale_bar(f: _Frame, reader: Reader) -> str:
    px_per_km = f.scale / 111.2
    km = 1.0
    for candidate in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100):
        if candidate * px_per_km >= 60:
            km = candidate
            break
    w = km * px_per_km
    y = MAP_H - 12
    return (f'<g class="scale"><line x1="12" x2="{_fmt(12 + w)}" y1="{y}" y2="{y}"/>'
            f'<text x="12" y="{y - 4}">{escape(reader.number(km))} km</text></g>')
