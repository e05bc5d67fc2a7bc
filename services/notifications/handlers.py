"""What services/notifications does with each event it consumes: keep what it needs to word its
messages, and tell the people each event concerns.

Events older than ``STALE`` (a history published again to a new consumer) keep the projections
but tell nobody: messages are about what happens now.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from sqlalchemy import func, select

from events.envelope import utcnow
from events.settings import Settings
from services.common import access
from services.common.db import upsert
from services.common.projections import unit_handlers
from services.common.states import ActivityStatus
from services.notifications import reminders
from services.notifications.models import (
    ActivityView,
    CycleView,
    Reminder,
    SignupView,
    UnitView,
    VolunteerView,
)
from services.notifications.telling import tell

STALE = timedelta(days=3)
LATE = timedelta(hours=24)
TIME_OR_PLACE = {"starts_at", "ends_at", "address", "latitude", "longitude"}


@functools.cache
def _star_hours() -> tuple[int, ...]:
    return Settings.from_env().star_hours  # the ledger's thresholds (SHILIU_LEDGER_STAR_HOURS)


def _begun(activity: ActivityView | None) -> bool:
    """A sign-up recorded after the start (a paper sheet typed in afterwards) tells no one."""
    return activity is not None and activity.starts_at <= utcnow()


def _fresh(event) -> bool:
    return utcnow() - datetime.fromisoformat(event.occurred_at) < STALE


# ---- activities ----------------------------------------------------------------------------


def on_activity_state(session, event, payload: dict) -> None:
    """Keep the activity; when its time or place changed, tell whoever signed up and move the
    reminders."""
    before = session.get(ActivityView, payload["activity_id"])
    old = (before.starts_at, before.ends_at, before.address) if before else None
    values = {
        "activity_id": payload["activity_id"],
        "title": payload["title"][:200],
        "starts_at": payload["starts_at"],
        "ends_at": payload["ends_at"],
        "address": (payload.get("address") or "")[:300],
        "organizer_id": payload.get("organizer_id"),
        "shifts": [
            {"shift_id": s["shift_id"], "name": s["name"], "capacity": s["capacity"]}
            for s in payload["shifts"]
        ],
        "status": ActivityStatus.PUBLISHED,
        "updated_at": utcnow(),
    }
    upsert(session, ActivityView.__table__, values, key=["activity_id"])
    if before is None:
        _learnt(session, event, payload["activity_id"])
    if before is None or event.type != "activity.updated":
        return
    session.refresh(before)
    if old == (before.starts_at, before.ends_at, before.address) and not (
        TIME_OR_PLACE & set(payload.get("changes") or ())
    ):
        return
    if old[0] != before.starts_at:
        reminders.reschedule(session, before)
    if _fresh(event):
        _tell_signed_up(session, event, before, "activity_changed")


def _learnt(session, event, activity_id: str) -> None:
    """Sign-ups that arrived before their activity (another topic, read first) get their
    reminders now, and a shift they filled is told to the organizer."""
    activity = session.get(ActivityView, activity_id)
    early = [s for s in _signed_up(session, activity_id) if s.status == "confirmed"]
    for signup in early:
        reminders.schedule(session, signup, activity)
    if _fresh(event):
        for shift_id in {s.shift_id for s in early}:
            _tell_if_full(session, event, activity, shift_id)


def on_activity_cancelled(session, event, payload: dict) -> None:
    """Withdraw the reminders and tell whoever signed up, with the reason."""
    activity = _became(session, payload["activity_id"], ActivityStatus.CANCELLED)
    reminders.withdraw(session, Reminder.activity_id == payload["activity_id"])
    if activity is not None:
        activity.cancel_reason = payload["reason"]
        if _fresh(event):
            for signup in _signed_up(session, activity.activity_id):
                _tell_cancelled(session, activity, signup)


def _tell_cancelled(session, activity: ActivityView, signup: SignupView) -> None:
    """Told once per person and activity: when the cancellation is learnt, or when a sign-up
    that crossed it on the way (another topic) arrives after it."""
    tell(
        session,
        signup.volunteer_id,
        "activity_cancelled",
        f"activity_cancelled:{activity.activity_id}",
        link=f"/activities/{activity.activity_id}",
        values={"reason": activity.cancel_reason or "—"},
        activity_id=activity.activity_id,
        signup_id=signup.signup_id,
    )


def _activity_over(status: str):
    def handler(session, _event, payload: dict) -> None:
        """The activity took place: nothing more to remind of."""
        _became(session, payload["activity_id"], status)
        reminders.withdraw(session, Reminder.activity_id == payload["activity_id"])

    return handler


def _became(session, activity_id: str, status: str) -> ActivityView | None:
    activity = session.get(ActivityView, activity_id)
    if activity is not None:
        activity.status, activity.updated_at = status, utcnow()
    return activity


def _signed_up(session, activity_id: str) -> list[SignupView]:
    return session.scalars(
        select(SignupView).where(
            SignupView.activity_id == activity_id, SignupView.status != "cancelled"
        )
    ).all()


def _tell_signed_up(session, event, activity: ActivityView, kind: str, **values) -> None:
    for signup in _signed_up(session, activity.activity_id):
        tell(
            session,
            signup.volunteer_id,
            kind,
            f"{kind}:{event.id}",
            link=f"/activities/{activity.activity_id}",
            values=values,
            activity_id=activity.activity_id,
            signup_id=signup.signup_id,
        )


# ---- sign-ups ------------------------------------------------------------------------------


def _signup(session, payload: dict, status: str) -> SignupView:
    values = {
        "signup_id": payload["signup_id"],
        "volunteer_id": payload["volunteer_id"],
        "activity_id": payload["activity_id"],
        "shift_id": payload["shift_id"],
        "party_size": payload.get("party_size") or 1,
        "status": status,
        "updated_at": utcnow(),
    }
    upsert(session, SignupView.__table__, values, key=["signup_id"])
    return session.get(SignupView, payload["signup_id"], populate_existing=True)


def _holding(kind: str):
    def handler(session, event, payload: dict) -> None:
        """A place held: tell the volunteer, plan the reminders, tell the organizer if the shift
        is now full."""
        signup = _signup(session, payload, "confirmed")
        activity = session.get(ActivityView, signup.activity_id)
        reminders.schedule(session, signup, activity)
        if not _fresh(event) or _begun(activity):
            return
        tell(
            session,
            signup.volunteer_id,
            kind,
            f"{kind}:{event.id}",
            link=f"/activities/{signup.activity_id}",
            activity_id=signup.activity_id,
            signup_id=signup.signup_id,
        )
        if activity is not None and activity.status == ActivityStatus.CANCELLED:
            _tell_cancelled(session, activity, signup)
        elif activity is not None:
            _tell_if_full(session, event, activity, signup.shift_id)

    return handler


def _tell_if_full(session, event, activity: ActivityView, shift_id: str) -> None:
    shift = next((s for s in activity.shifts if s["shift_id"] == shift_id), None)
    if shift is None:
        return
    held = session.scalar(
        select(func.coalesce(func.sum(SignupView.party_size), 0)).where(
            SignupView.activity_id == activity.activity_id,
            SignupView.shift_id == shift_id,
            SignupView.status == "confirmed",
        )
    )
    if held >= shift["capacity"]:
        tell(
            session,
            activity.organizer_id,
            "shift_full",
            f"shift_full:{event.id}:{shift_id}",
            link=f"/volunteering/organize/{activity.activity_id}/roster",
            values={"shift": shift["name"], "capacity": shift["capacity"]},
            activity_id=activity.activity_id,
        )


def on_waitlisted(session, event, payload: dict) -> None:
    """On the waitlist: tell the volunteer their position."""
    signup = _signup(session, payload, "waitlisted")
    if _fresh(event) and not _begun(session.get(ActivityView, signup.activity_id)):
        tell(
            session,
            signup.volunteer_id,
            "signup_waitlisted",
            f"signup_waitlisted:{event.id}",
            link=f"/activities/{signup.activity_id}",
            values={"position": payload["waitlist_position"]},
            activity_id=signup.activity_id,
            signup_id=signup.signup_id,
        )
        activity = session.get(ActivityView, signup.activity_id)
        if activity is not None and activity.status == ActivityStatus.CANCELLED:
            _tell_cancelled(session, activity, signup)


def on_cancelled(session, event, payload: dict) -> None:
    """A sign-up withdrawn: no more reminders. A volunteer removed by an organizer is told why;
    a volunteer who cancels within 24 hours of the start is named to the organizer."""
    signup = _signup(session, payload, "cancelled")
    reminders.withdraw(session, Reminder.signup_id == signup.signup_id)
    activity = session.get(ActivityView, signup.activity_id)
    if activity is None or not _fresh(event):
        return
    by_themselves = payload.get("cancelled_by") in (None, signup.volunteer_id)
    if not by_themselves:
        tell(
            session,
            signup.volunteer_id,
            "signup_removed",
            f"signup_removed:{event.id}",
            link=f"/activities/{signup.activity_id}",
            values={"reason": payload.get("reason") or "—"},
            activity_id=signup.activity_id,
            signup_id=signup.signup_id,
        )
    elif payload["at"] < activity.starts_at <= payload["at"] + LATE:
        volunteer = session.get(VolunteerView, signup.volunteer_id)
        tell(
            session,
            activity.organizer_id,
            "late_cancellation",
            f"late_cancellation:{event.id}",
            link=f"/volunteering/organize/{activity.activity_id}/roster",
            values={"name": volunteer.display_name if volunteer else "一位志愿者"},
            activity_id=activity.activity_id,
        )


# ---- volunteers and points -----------------------------------------------------------------


def on_volunteer_state(session, _event, payload: dict) -> None:
    """Keep the volunteer's name (for organizers' messages) and home unit (for scope)."""
    found = session.get(VolunteerView, payload["volunteer_id"])
    if found is None:
        session.add(
            VolunteerView(
                volunteer_id=payload["volunteer_id"],
                display_name=payload["display_name"][:100],
                home_unit_id=payload["home_unit_id"],
                hours_halves=0,
                stars_told=0,
                updated_at=utcnow(),
            )
        )
        session.flush()
    else:
        found.display_name, found.home_unit_id = (
            payload["display_name"][:100],
            payload["home_unit_id"],
        )
        found.updated_at = utcnow()


def _volunteer(session, volunteer_id: str) -> VolunteerView:
    found = session.get(VolunteerView, volunteer_id)
    if found is None:  # points before the profile: the name comes with volunteer.*
        found = VolunteerView(
            volunteer_id=volunteer_id,
            display_name="",
            home_unit_id=None,
            hours_halves=0,
            stars_told=0,
            updated_at=utcnow(),
        )
        session.add(found)
        session.flush()
    return found


def _count_hours(session, event, payload: dict) -> None:
    """Add the row's hours to the volunteer's; a star newly reached is told once."""
    volunteer = _volunteer(session, payload["volunteer_id"])
    volunteer.hours_halves += int((payload.get("hours") or 0) * 2)
    thresholds = _star_hours()
    stars = sum(1 for hours in thresholds if volunteer.hours_halves >= hours * 2)
    if stars > volunteer.stars_told:
        volunteer.stars_told = stars
        if _fresh(event):
            tell(
                session,
                volunteer.volunteer_id,
                "star_reached",
                f"star_reached:{stars}",
                link="/me",
                values={"stars": stars, "hours": thresholds[stars - 1]},
            )


def on_points_awarded(session, event, payload: dict) -> None:
    """Hours confirmed earn points: tell the volunteer both."""
    _count_hours(session, event, payload)
    if payload["reason_code"] == "attendance" and _fresh(event):
        tell(
            session,
            payload["volunteer_id"],
            "hours_confirmed",
            f"hours_confirmed:{event.id}",
            link="/points",
            values={"hours": str(payload.get("hours") or 0), "points": payload["points"]},
            activity_id=payload.get("activity_id"),
        )


def on_points_reversed(session, event, payload: dict) -> None:
    """A reversed award takes its hours back."""
    _count_hours(session, event, payload)


def on_points_adjusted(session, event, payload: dict) -> None:
    """An approved adjustment: tell the volunteer."""
    if _fresh(event):
        points = payload["points"]
        tell(
            session,
            payload["volunteer_id"],
            "adjustment_approved",
            f"adjustment_approved:{event.id}",
            link="/points",
            values={"points": f"+{points}" if points > 0 else str(points)},
        )


# ---- awards --------------------------------------------------------------------------------


def on_cycle_opened(session, _event, payload: dict) -> None:
    """Keep the cycle's title and committee."""
    upsert(
        session,
        CycleView.__table__,
        {
            "cycle_id": payload["cycle_id"],
            "title": payload["title"][:200],
            "committee": list(payload.get("committee_member_ids") or []),
            "updated_at": utcnow(),
        },
        key=["cycle_id"],
    )


def _tell_committee(kind: str, dedupe, values):
    def handler(session, event, payload: dict) -> None:
        """Tell each member of the cycle's committee."""
        cycle = session.get(CycleView, payload["cycle_id"])
        if cycle is None or not _fresh(event):
            return
        for member in cycle.committee:
            tell(
                session,
                member,
                kind,
                f"{kind}:{dedupe(event, payload)}",
                link=f"/awards/{cycle.cycle_id}",
                values={"cycle_id": cycle.cycle_id, **values(payload)},
            )

    return handler


def on_objection_decided(session, event, payload: dict) -> None:
    """Tell the objector the committee's decision."""
    if _fresh(event):
        tell(
            session,
            payload["objector_id"],
            "objection_decided",
            f"objection_decided:{payload['objection_id']}",
            link="/me",
            values={"cycle_id": payload["cycle_id"], "decision": payload["decision"]},
        )


def on_published(session, event, payload: dict) -> None:
    """Tell each winner."""
    if _fresh(event):
        for winner in payload["winners"]:
            tell(
                session,
                winner["volunteer_id"],
                "award_won",
                f"award_won:{payload['cycle_id']}",
                link=f"/honors/verify/{winner['certificate_code']}",
                values={"cycle_id": payload["cycle_id"], "code": winner["certificate_code"]},
            )


HANDLERS = {
    **access.HANDLERS,
    **unit_handlers(UnitView),
    "activity.published": on_activity_state,
    "activity.updated": on_activity_state,
    "activity.cancelled": on_activity_cancelled,
    "activity.completed": _activity_over(ActivityStatus.COMPLETED),
    "activity.closed": _activity_over(ActivityStatus.CLOSED),
    "signup.confirmed": _holding("signup_confirmed"),
    "signup.promoted": _holding("signup_promoted"),
    "signup.waitlisted": on_waitlisted,
    "signup.cancelled": on_cancelled,
    "volunteer.registered": on_volunteer_state,
    "volunteer.updated": on_volunteer_state,
    "points.awarded": on_points_awarded,
    "points.reversed": on_points_reversed,
    "points.adjusted": on_points_adjusted,
    "award.cycle_opened": on_cycle_opened,
    "award.candidates_listed": _tell_committee(
        "votes_waiting", lambda e, p: p["cycle_id"], lambda p: {"count": len(p["candidates"])}
    ),
    "award.tie_found": _tell_committee(
        "tie_to_decide",
        lambda e, p: f"{p['cycle_id']}:{','.join(p['candidate_ids'])}",
        lambda p: {"count": len(p["candidate_ids"]), "places": p["places"]},
    ),
    "award.objection_lodged": _tell_committee(
        "objection_to_decide", lambda e, p: p["objection_id"], lambda p: {}
    ),
    "award.objection_decided": on_objection_decided,
    "award.published": on_published,
}
