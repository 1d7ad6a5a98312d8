"""Small server-rendered SVG charts for the dashboard.

No script and no style attributes (the CSP forbids inline styles): sizes and colours are SVG
presentation attributes. Every text is escaped. The numbers are also in a table beside each chart,
so the chart is decoration for sighted staff (role="img" with a label) and the table is the data.
"""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

COLOURS = ["#1f5f8b", "#b3541e", "#3b7d3b", "#6b4c9a"]
TEXT = "#222222"


# Rough advance width of a character, as a share of the font size (a sans-serif's average is
# about 0.5; a little more so that nothing is cut off). Labels are shortened to fit.
CHAR_WIDTH = 0.58
SECONDARY = "#555555"


def fits(text: str, font_size: int, space: float) -> str:
    """`text`, shortened with an ellipsis so it takes at most `space` px at `font_size`."""
    limit = max(0, int(space / (font_size * CHAR_WIDTH)))
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def bar_chart(rows: list[tuple], *, label: str, width: int = 640) -> SafeString:
    """Horizontal bars, one per (label, value) or (label, value, secondary text).

    Each label sits on its own line above its bar, starting at the left edge, so a long label is
    never pushed past the edge; it is shortened to the chart's width, with the whole text in a
    <title> (the browser's tooltip). Secondary text (e.g. a lesson's unit) follows, smaller."""
    label_size, small_size, bar_height, gap, pad = 15, 12, 22, 12, 2
    row_height = label_size + 6 + bar_height + gap
    height = max(1, len(rows)) * row_height + gap
    peak = max([row[1] for row in rows] or [0]) or 1
    usable = width - pad - 70
    parts = []
    for index, (name, value, *rest) in enumerate(rows):
        secondary = rest[0] if rest else ""
        y = gap + index * row_height
        bar = round(usable * value / peak)
        shown = fits(str(name), label_size, width - pad * 2)
        room = width - pad * 2 - len(shown) * label_size * CHAR_WIDTH - small_size
        # Too little room for a useful part of it: leave it to the tooltip.
        enough = room >= 12 * small_size * CHAR_WIDTH
        small = fits(str(secondary), small_size, room) if secondary and enough else ""
        full = f"{name} ({secondary})" if secondary else str(name)
        parts.append(
            format_html(
                '<g><title>{}: {}</title><text x="{}" y="{}" font-size="{}" fill="{}">{}{}</text>'
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"></rect>'
                '<text x="{}" y="{}" font-size="15" fill="{}">{}</text></g>',
                full,
                value,
                pad,
                y + label_size,
                label_size,
                TEXT,
                shown,
                format_html(
                    '<tspan font-size="{}" fill="{}" dx="{}">{}</tspan>',
                    small_size,
                    SECONDARY,
                    small_size,
                    small,
                )
                if small
                else "",
                pad,
                y + label_size + 6,
                max(bar, 1 if value else 0),
                bar_height,
                COLOURS[0],
                pad + bar + 6,
                y + label_size + 6 + bar_height - 6,
                TEXT,
                value,
            )
        )
    return _svg(width, height, label, parts)


def grouped_bar_chart(
    categories: list[str], series: list[tuple[str, list[int]]], *, label: str, width: int = 640
) -> SafeString:
    """Vertical bars per category (e.g. month), one colour per series, with a legend."""
    top, bottom, left = 34, 40, 10
    plot_height = 180
    height = top + plot_height + bottom
    peak = max([value for _, values in series for value in values] or [0]) or 1
    slot = (width - left * 2) / max(1, len(categories))
    bar = max(4, min(28, (slot - 8) / max(1, len(series))))
    parts = [
        format_html(
            '<rect x="{}" y="8" width="14" height="14" fill="{}"></rect>'
            '<text x="{}" y="20" font-size="14" fill="{}">{}</text>',
            left + index * 150,
            COLOURS[index % len(COLOURS)],
            left + index * 150 + 20,
            TEXT,
            name,
        )
        for index, (name, _) in enumerate(series)
    ]
    for c, category in enumerate(categories):
        x0 = left + c * slot + 4
        for s, (_, values) in enumerate(series):
            value = values[c]
            h = round(plot_height * value / peak)
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"></rect>',
                    round(x0 + s * bar, 1),
                    top + plot_height - h,
                    round(bar - 1, 1),
                    h,
                    COLOURS[s % len(COLOURS)],
                )
            )
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="12" fill="{}">{}</text>',
                round(x0, 1),
                top + plot_height + 18,
                TEXT,
                category,
            )
        )
    parts.append(
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"></line>',
            left,
            top + plot_height,
            width - left,
            top + plot_height,
            TEXT,
        )
    )
    return _svg(width, height, label, parts)


def _svg(width: int, height: int, label: str, parts: list) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="100%" '
        'role="img" aria-label="{}" preserveAspectRatio="xMinYMin meet">{}</svg>',
        width,
        height,
        label,
        format_html_join("", "{}", ((part,) for part in parts)),
    )
