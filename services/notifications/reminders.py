"""Reminders: the day before (at 18:00, city time) and two hours before an activity, for every
held place. They are rows with a due time, so they survive restarts; ``send_due`` claims each row
with a conditional update before it tells anyone, so with two workers each is sent once."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from events.envelope import utcnow
from events.settings import city_zone
from services.common.states import ActivityStatus
from services.notifications.models import ActivityView, Reminder, SignupView
from services.notifications.telling import tell_many

DAY_BEFORE_AT = time(18, 0)
TWO_HOURS = timedelta(hours=2)


def due_times(starts_at: datetime) -> dict[str, datetime]:
    """When each reminder of an activity starting at ``starts_at`` is due."""
    local = starts_at.astimezone(city_zone())
    evening = datetime.combine(local.date() - timedelta(days=1), DAY_BEFORE_AT, city_zone())
    return {"reminder_day_before": evening, "reminder_two_hours": starts_at - TWO_HOURS}


def schedule(session: Session, signup: SignupView, activity: ActivityView | None, now=None):
    """Plan the reminders of a held place (those whose time has not passed)."""
    if activity is None or activity.status != ActivityStatus.PUBLISHED:
        return
    now = now or utcnow()
    for kind, due in due_times(activity.starts_at).items():
        if due <= now:
            continue
        found = session.get(Reminder, f"{signup.signup_id}/{kind}")
        if found is None:
            session.add(
                Reminder(
                    id=f"{signup.signup_id}/{kind}",
                    signup_id=signup.signup_id,
                    volunteer_id=signup.volunteer_id,
                    activity_id=signup.activity_id,
                    kind=kind,
                    due_at=due,
                    state="pending",
                )
            )
        elif found.state == "withdrawn":
            found.state, found.due_at = "pending", due


def withdraw(session: Session, *conditions) -> None:
    """Withdraw the pending reminders that match (a cancelled sign-up, a cancelled activity)."""
    session.execute(
        update(Reminder).where(Reminder.state == "pending", *conditions).values(state="withdrawn")
    )


def reschedule(session: Session, activity: ActivityView, now=None) -> None:
    """The activity's time changed: every reminder of its held places is due anew (one already
    sent is sent again, with the new time) unless its new time has passed."""
    now = now or utcnow()
    times = due_times(activity.starts_at)
    for reminder in session.scalars(
        select(Reminder).where(
            Reminder.activity_id == activity.activity_id, Reminder.state != "withdrawn"
        )
    ):
        due = times[reminder.kind]
        if due <= now:
            if reminder.state == "pending":
                reminder.state = "withdrawn"
            continue
        reminder.due_at, reminder.state, reminder.sent_at = due, "pending", None


def send_due(session_factory, now: datetime | None = None, limit: int = 1000) -> int:
    """Send up to ``limit`` reminders due at ``now``, in one transaction: a conditional update
    claims them (pending → sent) and returns the ids it claimed, and only those are put in the
    inbox, so with two workers each is sent once; a reminder whose sign-up or activity no longer
    holds is withdrawn instead. Returns how many were sent."""
    now = now or utcnow()
    with session_factory() as session, session.begin():
        # Each due reminder with its sign-up's status (None when the sign-up is unknown).
        due = session.execute(
            select(
                Reminder.id,
                Reminder.signup_id,
                Reminder.volunteer_id,
                Reminder.activity_id,
                Reminder.kind,
                SignupView.status,
            )
            .outerjoin(SignupView, SignupView.signup_id == Reminder.signup_id)
            .where(Reminder.state == "pending", Reminder.due_at <= now)
            .order_by(Reminder.due_at)
            .limit(limit)
            # PostgreSQL: two workers take different rows rather than queue for the same ones.
            .with_for_update(of=Reminder, skip_locked=True)
        ).all()
        if not due:
            return 0
        # The activities still to come (published, not started), with their start as the
        # message's key tells it (a reminder sent again after a change of time is a new message).
        upcoming = {
            a.activity_id: a.starts_at.isoformat()
            for a in session.execute(
                select(ActivityView.activity_id, ActivityView.status, ActivityView.starts_at).where(
                    ActivityView.activity_id.in_({r.activity_id for r in due})
                )
            )
            if a.status == ActivityStatus.PUBLISHED and a.starts_at > now
        }
        holding = {
            reminder_id
            for reminder_id, _, _, activity_id, _, status in due
            if status == "confirmed" and activity_id in upcoming
        }
        gone = [r.id for r in due if r.id not in holding]
        if gone:
            _claim(session, gone, state="withdrawn", sent_at=None)
        claimed = _claim(session, holding, state="sent", sent_at=now) if holding else set()
        tell_many(
            session,
            [
                {
                    "recipient_id": volunteer_id,
                    "kind": kind,
                    "dedupe_key": f"{reminder_id}@{upcoming[activity_id]}",
                    "link": f"/activities/{activity_id}",
                    "activity_id": activity_id,
                    "signup_id": signup_id,
                }
                for reminder_id, signup_id, volunteer_id, activity_id, kind, _ in due
                if reminder_id in claimed
            ],
            now=now,
        )
    return len(claimed)


def _claim(session: Session, ids, **values) -> set[str]:
    """Move the reminders of ``ids`` that are still pending; return the ids it moved."""
    return set(
        session.scalars(
            update(Reminder)
            .where(Reminder.id.in_(ids), Reminder.state == "pending")
            .values(**values)
            .returning(Reminder.id)
        )
    )
