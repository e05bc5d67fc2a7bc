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
from services.notifications.telling import tell

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


def send_due(session_factory, now: datetime | None = None, limit: int = 500) -> int:
    """Send the reminders due at ``now``: each in its own transaction that claims it (pending →
    sent) and puts the message in the inbox; a reminder whose sign-up or activity no longer holds
    is withdrawn instead. Returns how many were sent."""
    now = now or utcnow()
    with session_factory() as session:
        due = (
            session.execute(
                select(Reminder.id)
                .where(Reminder.state == "pending", Reminder.due_at <= now)
                .order_by(Reminder.due_at)
                .limit(limit)
            )
            .scalars()
            .all()
        )
    sent = 0
    for reminder_id in due:
        with session_factory() as session, session.begin():
            sent += _send_one(session, reminder_id, now)
    return sent


def _send_one(session: Session, reminder_id: str, now: datetime) -> int:
    reminder = session.get(Reminder, reminder_id)
    signup = session.get(SignupView, reminder.signup_id)
    activity = session.get(ActivityView, reminder.activity_id)
    holds = (
        signup is not None
        and signup.status == "confirmed"
        and activity is not None
        and activity.status == ActivityStatus.PUBLISHED
        and activity.starts_at > now
    )
    claimed = session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id, Reminder.state == "pending")
        .values(state="sent" if holds else "withdrawn", sent_at=now if holds else None)
    ).rowcount
    if not claimed or not holds:
        return 0
    tell(
        session,
        reminder.volunteer_id,
        reminder.kind,
        f"{reminder_id}@{activity.starts_at.isoformat()}",
        link=f"/activities/{reminder.activity_id}",
        activity_id=reminder.activity_id,
        signup_id=reminder.signup_id,
        now=now,
    )
    return 1
