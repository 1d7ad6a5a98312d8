"""Makes the web app's PNG icons (static/img/icon-*.png) with Pillow: the site's blue with two
soft curves, a calm mark that reads at 48 px. Run from the repository root:
    .venv/bin/python tools/make_icons.py
"""

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "static" / "img"
BLUE, CREAM = (29, 94, 122), (251, 250, 247)


def icon(size: int, *, maskable: bool) -> Image.Image:
    image = Image.new("RGB", (size, size), BLUE)
    draw = ImageDraw.Draw(image)
    # A maskable icon keeps its mark inside the central 80% safe zone.
    inset = size * (0.28 if maskable else 0.2)
    box = (inset, inset, size - inset, size - inset)
    width = max(2, size // 16)
    draw.arc(box, start=200, end=340, fill=CREAM, width=width)
    draw.arc(box, start=20, end=160, fill=CREAM, width=width)
    r = size // 14
    c = size // 2
    draw.ellipse((c - r, c - r, c + r, c + r), fill=CREAM)
    return image


if __name__ == "__main__":
    icon(192, maskable=False).save(OUT / "icon-192.png", optimize=True)
    icon(512, maskable=False).save(OUT / "icon-512.png", optimize=True)
    icon(512, maskable=True).save(OUT / "icon-512-maskable.png", optimize=True)
