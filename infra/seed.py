"""The demonstration city: districts, streets, communities, a 石榴红 team, people, activities."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from events.envelope import utcnow
from services.activities import operations
from services.activities.models import Unit

# (slug, name, kind, children)
DEMO_CITY = (
    "nb",
    "宁波市",
    "city",
    [
        (
            "bl",
            "北仑区",
            "district",
            [
                (
                    "xq",
                    "新碶街道",
                    "street",
                    [
                        ("fc", "富春社区", "community", []),
                        ("sh", "松花江社区", "community", []),
                        ("slh", "北仑区“石榴红”志愿服务队", "volunteer_team", []),
                    ],
                ),
                (
                    "dq",
                    "大碶街道",
                    "street",
                    [
                        ("hs", "横山社区", "community", []),
                        ("zzj", "中兴职业技术学校", "school", []),
                    ],
                ),
            ],
        ),
        (
            "hs",
            "海曙区",
            "district",
            [
                (
                    "gl",
                    "鼓楼街道",
                    "street",
                    [
                        ("ysq", "永寿社区", "community", []),
                    ],
                ),
            ],
        ),
    ],
)


def seed_demo(session_factory: sessionmaker, progress=None) -> int:
    """Create the demonstration unit tree once; return the number of units created."""
    with session_factory() as session, session.begin():
        if session.scalar(select(Unit.id).where(Unit.path == "/nb/")):
            return 0
        created = 0

        def plant(node, parent_id):
            nonlocal created
            slug, name, kind, children = node
            unit = operations.create_unit(
                session, name=name, kind=kind, parent_id=parent_id, slug=slug
            )
            created += 1
            if progress:
                progress(1)
            for child in children:
                plant(child, unit.id)

        plant(DEMO_CITY, None)
        seed_demo_activities(session)
    return created


# (title, category, dimensions, host path, days ahead, start hour (UTC), hours, address, shifts)
DEMO_ACTIVITIES = (
    (
        "富春社区“石榴籽”百家宴",
        "festival",
        ["culture", "society"],
        "/nb/bl/xq/fc/",
        5,
        2,
        3,
        "富春社区文化家园",
        [("后勤", 20, None), ("翻译", 2, "1.5")],
    ),
    (
        "国家通用语言文字培训（第三期）",
        "language",
        ["culture", "economy"],
        "/nb/bl/xq/",
        9,
        6,
        2,
        "新碶街道新时代文明实践站",
        [("助教", 4, None)],
    ),
    (
        "法律援助进社区",
        "legal",
        ["society", "psychology"],
        "/nb/bl/dq/hs/",
        12,
        1,
        3,
        "横山社区党群服务中心",
        [("咨询引导", 3, None), ("翻译", 1, "1.5")],
    ),
)


def seed_demo_activities(session) -> None:
    """Publish a few upcoming activities so the demonstration has something to sign up for."""
    for title, category, dimensions, path, days, hour, hours, address, shifts in DEMO_ACTIVITIES:
        _publish_activity(
            session,
            (title, category, dimensions, path, address, shifts),
            _day_at(days, hour),
            hours,
            walk_ins_allowed=True,
        )


def _day_at(days: int, hour: int) -> datetime:
    """That many days from today (before it when negative), at that hour (UTC)."""
    today = utcnow().replace(minute=0, second=0, microsecond=0)
    return (today + timedelta(days=days)).replace(hour=hour)


def _publish_activity(session, spec, starts: datetime, hours: int, **extra):
    """Create and publish a demonstration activity: spec is (title, category, dimensions, host
    path, address, shifts), each shift (name, capacity, hour weight or None)."""
    title, category, dimensions, path, address, shifts = spec
    activity = operations.create_activity(
        session,
        "seed",
        {
            "title": title,
            "category": category,
            "dimensions": dimensions,
            "host_unit_id": session.scalar(select(Unit.id).where(Unit.path == path)),
            "address": address,
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=hours),
            "shifts": [
                {"name": n, "capacity": c, "hour_weight": w and Decimal(w)} for n, c, w in shifts
            ],
            **extra,
        },
    )
    return operations.publish_activity(session, activity)


DEMO_PASSWORD = "shiliu2026"
# (username or phone, name, role or None for a volunteer, unit path)
DEMO_ACCOUNTS = (
    ("admin", "市民宗局管理员", "admin", "/nb/"),
    ("organizer", "富春社区 陈书记", "organizer", "/nb/bl/xq/fc/"),
    ("committee", "北仑区评审委员 马老师", "committee", "/nb/bl/"),
    ("bl-admin", "北仑区民宗局 李科长", "admin", "/nb/bl/"),
    ("13800000001", "阿依古丽", None, "/nb/bl/xq/fc/"),
)


def demo_sign_ins() -> list[str]:
    """The demonstration sign-ins, for the `make run` banner."""
    return [f"{name}: {login} / {DEMO_PASSWORD}" for login, name, _role, _path in DEMO_ACCOUNTS]


def seed_demo_accounts(web_app) -> int:
    """Create the demonstration accounts once (web and its service apps must be running);
    return how many were created."""
    return _create_people(
        web_app,
        [
            (login, name, role, path, {"languages": ["维吾尔语", "普通话"]})
            for login, name, role, path in DEMO_ACCOUNTS
        ],
    )


def _create_people(web_app, people) -> int:
    """Create the accounts of ``people`` that do not exist yet, each (login, name, role or None
    for a volunteer, unit path, profile of a volunteer); return how many were created."""
    from services.common.app import service_context
    from web import operations
    from web.models import Account, UnitView

    factory = service_context(web_app).session_factory
    created = 0
    with web_app.test_request_context("/"):
        for login, name, role, path, profile in people:
            with factory() as session, session.begin():
                if session.scalar(select(Account.id).where(Account.username == login)):
                    continue
                place = session.scalar(select(UnitView).where(UnitView.path == path))
                if role is None:
                    operations.register_volunteer(
                        session,
                        {
                            "phone": login,
                            "password": DEMO_PASSWORD,
                            "name": name,
                            "home_unit_id": place.unit_id,
                            "ethnicity_consent": "ethnicity" in profile,
                            **profile,
                        },
                    )
                else:
                    operations.create_staff_unchecked(
                        session, login, name, DEMO_PASSWORD, role, place.unit_id
                    )
                created += 1
    return created


# Neighbours who have volunteered these past weeks (phone, name, home community, ethnicity they
# consented to give for statistics); they sign in with DEMO_PASSWORD like the accounts above.
DEMO_NEIGHBOURS = (
    ("13800000002", "王建国", "/nb/bl/xq/fc/", "汉族"),
    ("13800000003", "马秀兰", "/nb/bl/xq/fc/", "回族"),
    ("13800000004", "巴特尔", "/nb/bl/xq/sh/", "蒙古族"),
    ("13800000005", "卓玛", "/nb/bl/xq/sh/", "藏族"),
    ("13800000006", "李晓红", "/nb/bl/dq/hs/", "汉族"),
    ("13800000007", "金美善", "/nb/bl/dq/hs/", "朝鲜族"),
    ("13800000008", "韦丽萍", "/nb/hs/gl/ysq/", "壮族"),
)

# Past activities and who came: (title, category, dimensions, host path, days ago, start hour
# (UTC), hours, address, shifts, attendance). Each attendance is (login, shift number, hours
# confirmed, or None for a no-show).
DEMO_HISTORY = (
    (
        "松花江社区邻里节",
        "festival",
        ["culture", "society"],
        "/nb/bl/xq/sh/",
        56,
        1,
        3,
        "松花江社区广场",
        [("布展与引导", 10, None)],
        [("13800000001", 0, "3"), ("13800000002", 0, "3"), ("13800000003", 0, "2.5")]
        + [("13800000004", 0, "3"), ("13800000005", 0, "3"), ("13800000008", 0, "3")],
    ),
    (
        "“石榴籽”普通话角",
        "language",
        ["culture", "economy"],
        "/nb/bl/xq/",
        42,
        6,
        2,
        "新碶街道新时代文明实践站",
        [("助教", 4, None)],
        [("13800000001", 0, "2"), ("13800000005", 0, "2"), ("13800000006", 0, None)],
    ),
    (
        "法律援助咨询日",
        "legal",
        ["society", "psychology"],
        "/nb/bl/dq/hs/",
        28,
        1,
        3,
        "横山社区党群服务中心",
        [("咨询引导", 4, None), ("翻译", 2, "1.5")],
        [("13800000001", 1, "3"), ("13800000006", 0, "3"), ("13800000007", 0, "2")],
    ),
    (
        "富春社区“石榴籽”百家宴（秋季）",
        "festival",
        ["culture", "society"],
        "/nb/bl/xq/fc/",
        14,
        2,
        4,
        "富春社区文化家园",
        [("后勤", 12, None)],
        [("13800000001", 0, "4"), ("13800000002", 0, "4"), ("13800000003", 0, "4")]
        + [("13800000004", 0, "3.5"), ("13800000007", 0, "4"), ("13800000008", 0, None)],
    ),
)
HISTORY_REASON = "按纸质签到表补录"
HISTORY_OPEN_DAYS = 21  # older activities are closed (attendance final); newer stay completed
# A manual adjustment the city's administrator asked for, awaiting a second administrator.
DEMO_ADJUSTMENT = ("13800000001", 20, "春节慰问演出义务翻译（当时未登记活动，补记）")


def seed_demo_history(apps: dict, web_app, wait) -> int:
    """Register DEMO_NEIGHBOURS and hold the past activities of DEMO_HISTORY through the
    services as if it happened then: published, signed up for before the start, attendance
    confirmed by the organizer after the end, completed (and closed when older than
    HISTORY_OPEN_DAYS). The ledger earns its points from the events like any others;
    DEMO_ADJUSTMENT then waits there for approval. ``apps`` are the service apps by name;
    ``wait(check, what)`` waits until ``check()`` is true (a service has learnt something from
    the broker). A step already done is skipped, so a second start changes nothing; return the
    activities created."""
    from services.activities.models import Activity
    from services.common.app import service_context
    from services.common.auth import Grant, Principal
    from services.ledger import operations as ledger
    from services.ledger.models import VolunteerView
    from services.volunteers import operations as volunteering
    from services.volunteers.models import ActivityView
    from web.models import Account, UnitView

    def factory(app):
        return service_context(app).session_factory

    _create_people(
        web_app,
        [
            (login, name, None, path, {"languages": ["普通话"], "ethnicity": ethnicity})
            for login, name, path, ethnicity in DEMO_NEIGHBOURS
        ],
    )
    with factory(web_app)() as session:
        ids = dict(session.execute(select(Account.username, Account.id)).all())
    volunteers = factory(apps["volunteers"])
    created = 0
    for title, category, dimensions, path, days, hour, hours, address, shifts, came in DEMO_HISTORY:
        starts = _day_at(-days, hour)
        ends = starts + timedelta(hours=hours)
        with factory(apps["activities"])() as session, session.begin():
            activity = session.scalar(select(Activity).where(Activity.title == title))
            if activity is None:
                activity = _publish_activity(
                    session,
                    (title, category, dimensions, path, address, shifts),
                    starts,
                    hours,
                    signup_opens_at=starts - timedelta(days=10),
                )
                created += 1
            activity_id, status = activity.id, activity.status
        if status != "published":
            continue

        def learnt(activity_id=activity_id):
            with volunteers() as session:
                return session.get(ActivityView, activity_id) is not None

        wait(learnt, f"the activity “{title}”")
        with volunteers() as session:
            shift_ids = [s.shift_id for s in volunteering.shifts_of(session, activity_id)]
        for login, shift, _hours in came:
            with volunteers() as session, session.begin():
                if volunteering.live_signup(session, activity_id, ids[login]) is None:
                    volunteering.sign_up(
                        session,
                        activity_id,
                        ids[login],
                        shift_ids[shift],
                        now=starts - timedelta(days=3),
                    )
        with volunteers() as session, session.begin():
            volunteering.confirm_attendance(
                session,
                activity_id,
                by=ids["organizer"],
                entries=[
                    {"volunteer_id": ids[login], "hours": Decimal(h), "reason": HISTORY_REASON}
                    for login, _shift, h in came
                    if h is not None
                ],
                no_shows=[ids[login] for login, _shift, h in came if h is None],
                now=ends + timedelta(hours=2),
            )
        with factory(apps["activities"])() as session, session.begin():
            activity = operations.complete_activity(
                session, operations.get_activity(session, activity_id)
            )
            if days > HISTORY_OPEN_DAYS:
                operations.close_activity(session, activity)

    login, points, reason = DEMO_ADJUSTMENT
    with factory(web_app)() as session:
        city = session.scalar(select(UnitView).where(UnitView.path == "/nb/"))
    admin = Principal(ids["admin"], grants=(Grant("admin", city.unit_id, city.path),))
    books = factory(apps["ledger"])

    def known(volunteer_id=ids[login]):
        with books() as session:
            return session.get(VolunteerView, volunteer_id) is not None

    wait(known, "the volunteer in the ledger")
    with books() as session, session.begin():
        body = {"volunteer_id": ids[login], "points": points, "reason": reason}
        ledger.request_adjustment(session, admin, body, idempotency_key="demo-adjustment")
    return created
