"""The server-rendered charts and the plain area map (no browser needed)."""

from __future__ import annotations

import re
from pathlib import Path

from hub.dashboards import svg
from hub.dashboards.static import resolve


def test_a_gap_breaks_the_line_instead_of_joining_across_it() -> None:
    out = svg.sparkline([1.0, 2.0, None, None, 4.0, 3.0], title="Power today", unit="W")
    lines = re.findall(r'<polyline points="([^"]+)"', out)
    assert len(lines) == 2
    assert [len(p.split()) for p in lines] == [2, 2]
    assert 'aria-label="Power today: latest 3 W, min 1 W, max 4 W"' in out


def test_a_lone_point_between_gaps_is_drawn_as_a_dot() -> None:
    out = svg.sparkline([None, 5.0, None], title="T", unit="°C")
    assert "<polyline" not in out
    assert re.search(r'<circle cx="80" cy="20" r="2.5"/>', out)


def test_no_data_says_so() -> None:
    out = svg.sparkline([None, None], title="Power today", unit="W")
    assert 'aria-label="Power today: no data"' in out
    assert "<polyline" not in out
    assert "<circle" not in out


def test_bars_mark_days_without_data_and_scale_to_the_highest() -> None:
    out = svg.bars([2.0, None, 4.0], ["Mon", "Tue", "Wed"], title="Gas per day", unit="m³")
    assert 'aria-label="Gas per day: Mon 2 m³; Tue no data; Wed 4 m³"' in out
    heights = [float(h) for h in re.findall(r'<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)"', out)]
    assert heights == [18.0, 36.0]
    assert out.count('class="gap"') == 1


def test_labels_are_escaped() -> None:
    out = svg.sparkline([1.0], title='<script>"x"</script>', unit="W")
    assert "<script>" not in out
    assert "&lt;script&gt;" in out


def test_area_map_projects_polygons_and_circles_inside_the_frame() -> None:
    notice = {"id": "n1", "headline": "Gas off", "area": {
        "description": "Elm Street",
        "polygons": [[[52.02, 4.99], [52.03, 4.99], [52.03, 5.01], [52.02, 5.01], [52.02, 4.99]]],
        "circles": [[52.0, 5.0, 0.5]]}}
    out = svg.area_map([notice], marker=(52.0225, 5.0), marker_label="home")
    assert 'aria-label="Map of the affected areas: Elm Street"' in out
    points = re.search(r'<polygon class="area area-0" points="([^"]+)"', out)
    assert points is not None
    xy = [tuple(map(float, p.split(","))) for p in points.group(1).split()]
    assert len(xy) == 5
    assert all(0 <= x <= svg.MAP_W and 0 <= y <= svg.MAP_H for x, y in xy)
    # North is up: the ring's northern edge (52.03) is drawn above its southern edge (52.02).
    assert xy[1][1] < xy[0][1]
    circle = re.search(r'<circle class="area area-0" cx="([^"]+)" cy="([^"]+)" r="([^"]+)"', out)
    assert circle is not None
    assert float(circle.group(3)) > 0
    assert '<g class="home">' in out


def test_area_map_without_areas_says_there_is_nothing_to_draw() -> None:
    assert "no area to draw" in svg.area_map([])


def test_static_files_refuse_traversal_hidden_files_and_unknown_types(tmp_path: Path) -> None:
    (tmp_path / "app.css").write_text("body{}")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".secret.css").write_text("x")
    assert resolve("app.css", tmp_path) == (tmp_path / "app.css").resolve()
    assert resolve("../app.css", tmp_path / "sub") is None
    assert resolve("notes.txt", tmp_path) is None
    assert resolve(".secret.css", tmp_path) is None
    assert resolve("", tmp_path) is None
    assert resolve("vendor/htmx/htmx.min.js") is not None
    assert resolve("vendor/leaflet/leaflet.css") is not None
