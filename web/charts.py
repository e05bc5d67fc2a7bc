"""Bar charts drawn by web as SVG (no chart library, nothing loaded from outside the platform):
the geometry here, the drawing in the templates (``me_home.html``, ``_charts.html``), each bar
with its number in a ``<title>`` and beside it as text, so a phone reader and a screen reader
both get the figures.

``columns`` stands bars up side by side (one slot per item, one bar per series in it, like
months of a year); ``lanes`` lays them down one under the other with the label on the left
(categories, dimensions: their names are longer than a slot).
"""

from __future__ import annotations

CHART = {"width": 360, "height": 150, "top": 18, "bottom": 22}  # viewBox units
LANES = {"width": 360, "lane": 30, "label": 100, "room_for_value": 44}


def _largest(items: list[dict], keys: tuple[str, ...]) -> float:
    return max((float(item[key] or 0) for item in items for key in keys), default=0.0) or 1.0


def columns(items: list[dict], *keys: str, chart: dict = CHART) -> list[dict]:
    """Stand each item's values (``keys``, one bar each) in its slot, scaled to the largest.
    Every item gets ``middle`` (where its label goes) and ``bars`` (key, value, x, y, width,
    height, middle); with one key its bar's geometry is on the item itself too."""
    most = _largest(items, keys)
    room = chart["height"] - chart["top"] - chart["bottom"]
    slot = chart["width"] / max(len(items), 1)
    bar = slot * 0.6 / len(keys)
    for place, item in enumerate(items):
        bars = []
        for number, key in enumerate(keys):
            height = float(item[key] or 0) / most * room
            left = place * slot + slot * 0.2 + number * bar
            bars.append(
                {
                    "key": key,
                    "value": item[key],
                    "x": round(left, 1),
                    "width": round(bar, 1),
                    "height": round(height, 1),
                    "y": round(chart["height"] - chart["bottom"] - height, 1),
                    "middle": round(left + bar / 2, 1),
                }
            )
        item.update(bars=bars, middle=round(place * slot + slot / 2, 1))
        if len(keys) == 1:
            item.update({k: bars[0][k] for k in ("x", "y", "width", "height")})
    return items


def lanes(items: list[dict], key: str, chart: dict = LANES) -> dict:
    """Lay each item's value down as a bar in a lane of its own, its label on the left and its
    number after it; answers the items (with x, y, width, height, text_y, value_x) and the
    chart's size."""
    most = _largest(items, (key,))
    room = chart["width"] - chart["label"] - chart["room_for_value"]
    for place, item in enumerate(items):
        width = float(item[key] or 0) / most * room
        top = place * chart["lane"]
        item.update(
            x=chart["label"],
            y=top + 6,
            width=round(width, 1),
            height=chart["lane"] - 12,
            text_y=top + chart["lane"] / 2 + 4,
            value_x=round(chart["label"] + width + 4, 1),
        )
    return {"items": items, "width": chart["width"], "height": chart["lane"] * max(len(items), 1)}
