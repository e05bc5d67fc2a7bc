"""What the statistics tests share: an activity that took place, delivered as its events."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from events import catalog
from events.envelope import utcnow


def _event(name: str, **payload):
    return catalog.make_event(name, payload, producer="test")


def held(city, path: str, attendees: list[tuple[str, str]], audience: int, groups):
    """An activity of a unit that took place, with confirmed hours and its groups figure."""
    unit = city.unit(path)
    activity_id = f"st-{uuid.uuid4().hex[:8]}"
    starts = utcnow() - timedelta(days=1)
    city.deliver(
        [
            _event(
                "activity.published",
                activity_id=activity_id,
                title="统计测试活动",
                category="festival",
                dimensions=["culture", "society"],
                host_unit_id=unit.unit_id,
                host_unit_path=unit.path,
                starts_at=starts,
                ends_at=starts + timedelta(hours=3),
                shifts=[{"shift_id": f"{activity_id}-s", "name": "后勤", "capacity": 50}],
            ),
            _event(
                "activity.completed",
                activity_id=activity_id,
                completed_at=utcnow(),
                audience=audience,
            ),
        ]
    )
    city.deliver(
        [
            _event(
                "attendance.confirmed",
                attendance_id=f"{activity_id}-{volunteer}",
                volunteer_id=volunteer,
                activity_id=activity_id,
                hours=Decimal(hours),
                activity_date=starts.date(),
                confirmed_by="organizer",
                confirmed_at=utcnow(),
            )
            for volunteer, hours in attendees
        ]
        + [
            _event(
                "attendance.summarized",
                activity_id=activity_id,
                attendees=len(attendees),
                distinct_groups=groups,
                cross_group=bool(groups and groups >= 3),
                confirmed_at=utcnow(),
            )
        ]
    )
    return activity_id
