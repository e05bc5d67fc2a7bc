"""Confirmed hours and volunteer-hours certificates."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from events.envelope import utcnow
from services.common.errors import Conflict, NotFound
from services.common.states import AttendanceStatus
from services.volunteers.models import (
    ActivityView,
    Attendance,
    HoursCertificate,
    UnitView,
    Volunteer,
)
from services.volunteers.operations.profiles import get_volunteer
from services.volunteers.rules import (
    local_date,
)

# ---- hours -------------------------------------------------------------------------------


def confirmed_hours(session: Session, volunteer_id: str) -> list[dict]:
    """A volunteer's confirmed attendance, oldest first, with each activity and its host unit."""
    rows = session.execute(
        select(Attendance, ActivityView, UnitView.name)
        .join(ActivityView, ActivityView.activity_id == Attendance.activity_id)
        .join(UnitView, UnitView.unit_id == ActivityView.host_unit_id, isouter=True)
        .where(
            Attendance.volunteer_id == volunteer_id, Attendance.status == AttendanceStatus.CONFIRMED
        )
        .order_by(ActivityView.starts_at, Attendance.id)
    ).all()
    return [
        {
            "attendance_id": record.id,
            "activity_id": activity.activity_id,
            "title": activity.title,
            "starts_at": activity.starts_at,
            "activity_date": local_date(activity.starts_at),
            "host_unit_id": activity.host_unit_id,
            "host_unit_name": unit_name or "",
            "hours": Decimal(record.hours).quantize(Decimal("0.1")),
            "confirmed_by": record.confirmed_by,
            "confirmed_at": record.confirmed_at,
        }
        for record, activity, unit_name in rows
    ]


def issue_certificate(session: Session, volunteer_id: str, now: datetime | None = None):
    """Issue (or find the one already issued for the same records) a volunteer-hours
    certificate; return (certificate, volunteer, records)."""
    volunteer = get_volunteer(session, volunteer_id)
    records = confirmed_hours(session, volunteer_id)
    if not records:
        raise Conflict("还没有经组织者确认的服务时长，暂不能开具证明", code="no-confirmed-hours")
    listing = "|".join(f"{r['attendance_id']}:{r['hours']}" for r in records)
    digest = hashlib.sha256(f"{volunteer_id}|{listing}".encode()).hexdigest()
    certificate = session.scalar(
        select(HoursCertificate).where(
            HoursCertificate.volunteer_id == volunteer_id, HoursCertificate.digest == digest
        )
    )
    if certificate is None:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        code = "SLH-" + "".join(secrets.choice(alphabet) for _ in range(10))
        certificate = HoursCertificate(
            code=code,
            volunteer_id=volunteer_id,
            digest=digest,
            total_hours=sum((r["hours"] for r in records), Decimal("0")),
            records=len(records),
            issued_at=now or utcnow(),
        )
        session.add(certificate)
        session.flush()
    return certificate, volunteer, records


def verify_certificate(session: Session, code: str):
    """Return (certificate, volunteer) for a verification code, or raise NotFound."""
    certificate = session.get(HoursCertificate, (code or "").strip().upper())
    if certificate is None:
        raise NotFound("没有这个编号的时长证明", code="unknown-certificate")
    return certificate, session.get(Volunteer, certificate.volunteer_id)


def unit_names(session: Session) -> dict[str, str]:
    """The names of the units this service knows, by id."""
    return dict(session.execute(select(UnitView.unit_id, UnitView.name)).all())
