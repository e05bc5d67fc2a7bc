"""Volunteer profiles: saving, reading and listing them."""

from __future__ import annotations

from sqlalchemy import (
    func,
    select,
)
from sqlalchemy.orm import Session

from events import catalog
from events.envelope import utcnow
from events.outbox import emit
from services.common.errors import DomainError, NotFound
from services.volunteers.models import (
    UnitView,
    Volunteer,
)
from services.volunteers.operations._common import HOME_KINDS, PRODUCER, PUBLIC_FIELDS


def _unit(
    session: Session, unit_id: str, kinds: tuple[str, ...], field: str, label: str
) -> UnitView:
    unit = session.get(UnitView, unit_id)
    if unit is None or unit.kind not in kinds:
        raise DomainError(f"{label}不存在", code="unknown-unit", errors={field: [f"{label}不存在"]})
    return unit


def save_profile(session: Session, volunteer_id: str, profile: dict) -> tuple[Volunteer, bool]:
    """Create or update a volunteer's profile; announce what consumers may know of the change."""
    home = _unit(session, profile["home_unit_id"], HOME_KINDS, "home_unit_id", "所在社区")
    if profile.get("team_id"):
        _unit(session, profile["team_id"], ("volunteer_team",), "team_id", "志愿服务队")
    ethnicity = profile.get("ethnicity") or None
    if ethnicity and not profile.get("ethnicity_consent"):
        raise DomainError(
            "填写民族须同意用于统计",
            code="consent-required",
            errors={"ethnicity_consent": ["填写民族须勾选同意（仅用于不少于 5 人的汇总统计）"]},
        )
    now = utcnow()
    volunteer = session.get(Volunteer, volunteer_id, with_for_update=True)
    created = volunteer is None
    before = volunteer.as_payload() if volunteer else {}
    if created:
        volunteer = Volunteer(id=volunteer_id, created_at=now)
        session.add(volunteer)
    volunteer.display_name = profile["display_name"]
    volunteer.home_unit_id = home.unit_id
    volunteer.home_unit_path = home.path
    volunteer.team_id = profile.get("team_id") or None
    volunteer.languages = list(profile.get("languages") or [])
    if ethnicity != volunteer.ethnicity:
        volunteer.ethnicity = ethnicity
        volunteer.ethnicity_consent_at = now if ethnicity else None
    volunteer.updated_at = now
    session.flush()
    after = volunteer.as_payload()
    if created:
        emit(session, catalog.make_event("volunteer.registered", after, producer=PRODUCER))
    else:
        changes = [name for name in PUBLIC_FIELDS if before.get(name) != after.get(name)]
        if changes:
            emit(
                session,
                catalog.make_event(
                    "volunteer.updated", {**after, "changes": changes}, producer=PRODUCER
                ),
            )
    return volunteer, created


def get_volunteer(session: Session, volunteer_id: str) -> Volunteer:
    """Return a volunteer or raise NotFound."""
    volunteer = session.get(Volunteer, volunteer_id)
    if volunteer is None:
        raise NotFound("志愿者不存在", code="unknown-volunteer")
    return volunteer


def list_volunteers(session: Session, paths: list[str], page: int, per_page: int):
    """Return one page of the volunteers whose home unit lies under any of the paths."""
    if not paths:
        return [], 0
    condition = Volunteer.home_unit_path.startswith(paths[0])
    for path in paths[1:]:
        condition = condition | Volunteer.home_unit_path.startswith(path)
    total = session.scalar(select(func.count()).select_from(Volunteer).where(condition))
    items = session.scalars(
        select(Volunteer)
        .where(condition)
        .order_by(Volunteer.created_at, Volunteer.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return items, total
