"""Draw the web app's icons with Pillow (``dashboards/static/icons``; the PNGs are committed).

A house with a roof on the accent colour; the maskable one keeps the drawing inside the
80 % safe zone that launchers may crop to a circle.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "dashboards" / "static" / "icons"
ACCENT, INK = (24, 90, 74), (255, 255, 255)


def icon(size: int, *, maskable: bool) -> Image.Image:
    img = Image.new("RGB", (size, size), ACCENT)
    d = ImageDraw.Draw(img)
    pad = size * (0.28 if maskable else 0.18)
    left, right, top, bottom = pad, size - pad, pad, size - pad
    mid, eave = size / 2, top + (bottom - top) * 0.42
    d.polygon([(left, eave), (mid, top), (right, eave)], fill=INK)
    wall = (right - left) * 0.14
    d.rectangle([left + wall, eave, right - wall, bottom], fill=INK)
    door_w = (right - left) * 0.18
    d.rectangle([mid - door_w / 2, bottom - (bottom - eave) * 0.55, mid + door_w / 2, bottom], fill=ACCENT)
    return img


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        icon(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
    icon(512, maskable=True).save(OUT / "maskable-512.png", optimize=True)


if __name__ == "__main__":
    main()
