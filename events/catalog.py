"""The catalog: every event type, its version, topic, partition key and payload schema."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError

from events import examples as ex
from events import schemas as s
from events.envelope import Event

TOPICS: dict[str, str] = {
    "shiliu.units": "The unit tree: city, district, street, community and partner units.",
    "shiliu.activities": "Activities and their lifecycle.",
    "shiliu.volunteers": "Volunteer profiles, without phone numbers or ethnicity.",
    "shiliu.signups": "Sign-ups and waitlists, keyed by volunteer.",
    "shiliu.attendance": "Check-in, check-out and confirmed attendance, keyed by volunteer.",
    "shiliu.points": "Ledger rows as they are written, keyed by volunteer.",
    "shiliu.awards": "民族团结之星 award cycles, keyed by cycle.",
    "shiliu.accounts": "Access revoked from accounts (no personal data), keyed by account.",
}

DLQ_SUFFIX = ".dlq"


class UnknownEventType(LookupError):
    """An event type (or version of it) that this catalog does not know."""


class InvalidPayload(ValueError):
    """A payload that does not match its type's schema."""

    def __init__(self, event_type: str, messages: dict[str, Any]):
        super().__init__(f"{event_type}: {messages}")
        self.messages = messages


@dataclass(frozen=True)
class EventType:
    """One registered event type and version."""

    name: str
    version: int
    topic: str
    key_field: str
    schema: type[Schema]
    summary: str
    example: dict[str, Any]

    @functools.cached_property
    def _loader(self) -> Schema:
        return self.schema()

    def load(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Validate a payload and return it with Python types (dates, decimals)."""
        try:
            return self._loader.load(payload)
        except ValidationError as exc:
            raise InvalidPayload(self.name, exc.normalized_messages()) from exc

    def load_many(self, payloads: list[dict[str, Any]]) -> list[dict[str, Any] | InvalidPayload]:
        """Validate payloads together (marshmallow's ``many``, cheaper per payload); return for
        each its loaded form, or the InvalidPayload that loading it alone raises."""
        try:
            return self._loader.load(payloads, many=True)
        except ValidationError:
            results: list[dict[str, Any] | InvalidPayload] = []
            for payload in payloads:
                try:
                    results.append(self.load(payload))
                except InvalidPayload as exc:
                    results.append(exc)
            return results

    def check(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Validate a payload already in its JSON form and return it."""
        errors = self._loader.validate(payload)
        if errors:
            raise InvalidPayload(self.name, errors)
        return payload

    def dump(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Validate a payload given with Python types and return its JSON form."""
        # One schema instance serves every call (marshmallow 4 schemas keep no per-call state);
        # building one per event cost more than dumping and validating together.
        dumped = self._loader.dump(payload)
        errors = self._loader.validate(dumped)
        if errors:
            raise InvalidPayload(self.name, errors)
        return dumped


_REGISTRY: dict[tuple[str, int], EventType] = {}


def register(
    name: str, topic: str, key_field: str, schema: type[Schema], example: dict, version: int = 1
) -> EventType:
    """Add an event type to the catalog."""
    if topic not in TOPICS:
        raise ValueError(f"{name}: unknown topic {topic}")
    entry = EventType(
        name=name,
        version=version,
        topic=topic,
        key_field=key_field,
        schema=schema,
        summary=(schema.__doc__ or "").strip().splitlines()[0],
        example=example,
    )
    _REGISTRY[(name, version)] = entry
    return entry


def get(name: str, version: int = 1) -> EventType:
    """Return the registered type, or raise UnknownEventType."""
    try:
        return _REGISTRY[(name, version)]
    except KeyError:
        raise UnknownEventType(f"{name} v{version}") from None


def knows(name: str, version: int) -> bool:
    """Tell whether the catalog has this type and version."""
    return (name, version) in _REGISTRY


def all_types() -> list[EventType]:
    """Return every registered type, ordered by topic then name then version."""
    order = list(TOPICS)
    return sorted(_REGISTRY.values(), key=lambda t: (order.index(t.topic), t.name, t.version))


def topics_for(type_names) -> list[str]:
    """Return the topics that carry the given event types."""
    return sorted({entry.topic for entry in _REGISTRY.values() if entry.name in set(type_names)})


def make_event(
    name: str,
    payload: dict[str, Any],
    *,
    producer: str,
    version: int = 1,
    serialized: bool = False,
) -> Event:
    """Build a validated event of a registered type; its key comes from the payload. A payload
    given ``serialized`` (already in its JSON form: strings, numbers, RFC 3339 times) is
    validated as it is, in one pass, instead of being dumped and then validated."""
    entry = get(name, version)
    dumped = entry.check(payload) if serialized else entry.dump(payload)
    return Event(
        type=name,
        version=version,
        key=str(dumped[entry.key_field]),
        payload=dumped,
        producer=producer,
    )


# ---- the registry ------------------------------------------------------------------------

register("unit.created", "shiliu.units", "unit_id", s.UnitState, ex.UNIT)
register("unit.updated", "shiliu.units", "unit_id", s.UnitUpdated, {**ex.UNIT, "changes": ["name"]})

register("activity.published", "shiliu.activities", "activity_id", s.ActivityState, ex.ACTIVITY)
register(
    "activity.updated",
    "shiliu.activities",
    "activity_id",
    s.ActivityUpdated,
    {**ex.ACTIVITY, "changes": ["starts_at", "ends_at"]},
)
register(
    "activity.cancelled",
    "shiliu.activities",
    "activity_id",
    s.ActivityCancelled,
    {
        "activity_id": "a-1",
        "reason": "暴雨预警，活动取消",
        "cancelled_at": "2026-03-07T09:00:00+00:00",
    },
)
register(
    "activity.completed",
    "shiliu.activities",
    "activity_id",
    s.ActivityCompleted,
    {"activity_id": "a-1", "completed_at": "2026-03-08T09:30:00+00:00", "audience": 120},
)
register(
    "activity.closed",
    "shiliu.activities",
    "activity_id",
    s.ActivityClosed,
    {"activity_id": "a-1", "closed_at": "2026-03-10T02:00:00+00:00"},
)

register(
    "volunteer.registered", "shiliu.volunteers", "volunteer_id", s.VolunteerState, ex.VOLUNTEER
)
register(
    "volunteer.updated",
    "shiliu.volunteers",
    "volunteer_id",
    s.VolunteerUpdated,
    {**ex.VOLUNTEER, "changes": ["team_id"]},
)

register("signup.confirmed", "shiliu.signups", "volunteer_id", s.Signup, ex.SIGNUP)
register(
    "signup.waitlisted",
    "shiliu.signups",
    "volunteer_id",
    s.SignupWaitlisted,
    {**ex.SIGNUP, "waitlist_position": 3},
)
register("signup.promoted", "shiliu.signups", "volunteer_id", s.Signup, ex.SIGNUP)
register(
    "signup.cancelled",
    "shiliu.signups",
    "volunteer_id",
    s.SignupCancelled,
    {**ex.SIGNUP, "reason": "临时有事", "cancelled_by": "v-1"},
)

register(
    "attendance.checked_in",
    "shiliu.attendance",
    "volunteer_id",
    s.CheckedIn,
    {
        "attendance_id": "at-1",
        "volunteer_id": "v-1",
        "activity_id": "a-1",
        "shift_id": "s-1",
        "checked_in_at": "2026-03-08T06:02:00+00:00",
        "method": "code",
    },
)
register(
    "attendance.checked_out",
    "shiliu.attendance",
    "volunteer_id",
    s.CheckedOut,
    {
        "attendance_id": "at-1",
        "volunteer_id": "v-1",
        "activity_id": "a-1",
        "checked_out_at": "2026-03-08T09:35:00+00:00",
    },
)
register(
    "attendance.confirmed", "shiliu.attendance", "volunteer_id", s.AttendanceConfirmed, ex.CONFIRMED
)
register(
    "attendance.corrected",
    "shiliu.attendance",
    "volunteer_id",
    s.AttendanceCorrected,
    {**ex.CONFIRMED, "hours": "3.0", "previous_hours": "3.5", "reason": "提前半小时离场"},
)
register(
    "attendance.summarized",
    "shiliu.attendance",
    "activity_id",
    s.AttendanceSummarized,
    {
        "activity_id": "a-1",
        "attendees": 18,
        "distinct_groups": 4,
        "cross_group": True,
        "confirmed_at": "2026-03-08T10:00:00+00:00",
    },
)
register(
    "attendance.no_show",
    "shiliu.attendance",
    "volunteer_id",
    s.NoShow,
    {
        "volunteer_id": "v-2",
        "activity_id": "a-1",
        "signup_id": "su-2",
        "activity_date": "2026-03-08",
        "recorded_by": "acc-9",
    },
)

register("points.awarded", "shiliu.points", "volunteer_id", s.PointsEntry, ex.ENTRY)
register(
    "points.reversed",
    "shiliu.points",
    "volunteer_id",
    s.PointsReversed,
    {
        **ex.ENTRY,
        "entry_id": "e-2",
        "points": -40,
        "reason_code": "correction",
        "reverses_entry_id": "e-1",
    },
)
register(
    "points.adjusted",
    "shiliu.points",
    "volunteer_id",
    s.PointsAdjusted,
    {
        **ex.ENTRY,
        "entry_id": "e-3",
        "points": 10,
        "reason_code": "manual",
        "activity_id": None,
        "rule_version": None,
        "source_event_id": None,
        "requested_by": "acc-1",
        "approved_by": "acc-2",
    },
)

register(
    "award.cycle_opened",
    "shiliu.awards",
    "cycle_id",
    s.AwardCycleOpened,
    {
        "cycle_id": "c-2026",
        "title": "2026年度 民族团结之星",
        "unit_id": "u-bl",
        "period_start": "2026-01-01",
        "period_end": "2026-12-31",
        "committee_member_ids": ["acc-7", "acc-8", "acc-9"],
    },
)
register(
    "award.candidates_listed",
    "shiliu.awards",
    "cycle_id",
    s.AwardCandidatesListed,
    {
        "cycle_id": "c-2026",
        "candidates": [{"candidate_id": "cd-1", "volunteer_id": "v-1", "rank": 1, "points": 420}],
    },
)
register(
    "award.notice_started",
    "shiliu.awards",
    "cycle_id",
    s.AwardNoticeStarted,
    {"cycle_id": "c-2026", "notice_ends_on": "2026-12-20", "proposed_volunteer_ids": ["v-1"]},
)
register(
    "award.published",
    "shiliu.awards",
    "cycle_id",
    s.AwardPublished,
    {
        "cycle_id": "c-2026",
        "unit_id": "u-bl",
        "year": 2026,
        "winners": [{"volunteer_id": "v-1", "certificate_code": "SL-2026-7QK3M9"}],
        "published_at": "2026-12-21T02:00:00+00:00",
    },
)
register(
    "award.revoked",
    "shiliu.awards",
    "cycle_id",
    s.AwardRevoked,
    {
        "cycle_id": "c-2026",
        "volunteer_id": "v-1",
        "certificate_code": "SL-2026-7QK3M9",
        "reason": "经核实事迹材料不实",
    },
)

register(
    "award.tie_found",
    "shiliu.awards",
    "cycle_id",
    s.AwardTieFound,
    {"cycle_id": "c-2026", "candidate_ids": ["cd-4", "cd-5"], "places": 1},
)
register(
    "award.objection_lodged",
    "shiliu.awards",
    "cycle_id",
    s.AwardObjectionLodged,
    {"cycle_id": "c-2026", "objection_id": "ob-1", "lodged_at": "2026-12-10T03:00:00+00:00"},
)
register(
    "award.objection_decided",
    "shiliu.awards",
    "cycle_id",
    s.AwardObjectionDecided,
    {
        "cycle_id": "c-2026",
        "objection_id": "ob-1",
        "objector_id": "acc-31",
        "decision": "dismissed",
        "decided_at": "2026-12-12T03:00:00+00:00",
    },
)

register(
    "account.access_revoked",
    "shiliu.accounts",
    "account_id",
    s.AccountAccessRevoked,
    {"account_id": "acc-2", "access_version": 2, "reason": "role_revoked"},
)
