"""Finding activities as residents look for them: by the words they remember, and nearest first
from where they stand (issue 20 item 16)."""

from __future__ import annotations

import math

from sqlalchemy import Select, and_, or_

from services.activities.models import Activity, Unit

EARTH_RADIUS_M = 6_371_000.0
SEARCHED = (Activity.title, Activity.description, Activity.address, Unit.name)


def words_of(text: str | None) -> list[str]:
    """The words of a search, split on spaces (full-width ones too)."""
    return (text or "").replace("\u3000", " ").split()


def matching(query: Select, text: str | None) -> Select:
    """Only activities with every word in their title, description, address or host unit's name,
    in any case (LIKE on both engines; % and _ are letters here, not wildcards)."""
    words = words_of(text)
    if not words:
        return query
    patterns = [
        "%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for w in words
    ]
    return query.where(
        and_(*[or_(*[column.ilike(p, escape="\\") for column in SEARCHED]) for p in patterns])
    )


def distance_m(near: tuple[float, float], activity: Activity) -> int | None:
    """Metres from a place to the activity as the crow flies (haversine); None where the
    activity has no coordinates."""
    if activity.latitude is None or activity.longitude is None:
        return None
    lat1, lon1 = math.radians(near[0]), math.radians(near[1])
    lat2, lon2 = math.radians(float(activity.latitude)), math.radians(float(activity.longitude))
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return round(2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a))))


def nearest_first(activities: list[Activity], near: tuple[float, float]) -> list[Activity]:
    """The activities by distance from a place, those without coordinates last (each group
    keeping its order: soonest first)."""

    def key(activity: Activity) -> tuple[bool, int]:
        distance = distance_m(near, activity)
        return (distance is None, distance or 0)

    return sorted(activities, key=key)
