"""The demonstration city: districts, streets, communities, a 石榴红 team, people, activities."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

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
    from datetime import timedelta

    from events.envelope import utcnow

    today = utcnow().replace(minute=0, second=0, microsecond=0)
    for title, category, dimensions, path, days, hour, hours, address, shifts in DEMO_ACTIVITIES:
        host = session.scalar(select(Unit).where(Unit.path == path))
        starts = (today + timedelta(days=days)).replace(hour=hour)
        activity = operations.create_activity(
            session,
            "seed",
            {
                "title": title,
                "category": category,
                "dimensions": dimensions,
                "host_unit_id": host.id,
                "address": address,
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=hours),
                "walk_ins_allowed": True,
                "shifts": [
                    {"name": n, "capacity": c, "hour_weight": w and Decimal(w)}
                    for n, c, w in shifts
                ],
            },
        )
        operations.publish_activity(session, activity)


DEMO_PASSWORD = "shiliu2026"
# (username or phone, name, role or None for a volunteer, unit path)
DEMO_ACCOUNTS = (
    ("admin", "市民宗局管理员", "admin", "/nb/"),
    ("organizer", "富春社区 陈书记", "organizer", "/nb/bl/xq/fc/"),
    ("committee", "北仑区评审委员 马老师", "committee", "/nb/bl/"),
    ("13800000001", "阿依古丽", None, "/nb/bl/xq/fc/"),
)


def demo_sign_ins() -> list[str]:
    """The demonstration sign-ins, for the `make run` banner."""
    return [f"{name}: {login} / {DEMO_PASSWORD}" for login, name, _role, _path in DEMO_ACCOUNTS]


def seed_demo_accounts(web_app) -> int:
    """Create the demonstration accounts once (web and its service apps must be running)."""
    from sqlalchemy import select

    from services.common.app import service_context
    from web import operations
    from web.models import Account, UnitView

    factory = service_context(web_app).session_factory
    created = 0
    with web_app.test_request_context("/"):
        for login, name, role, path in DEMO_ACCOUNTS:
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
                            "languages": ["维吾尔语", "普通话"],
                        },
                    )
                else:
                    operations.create_staff_unchecked(
                        session, login, name, DEMO_PASSWORD, role, place.unit_id
                    )
                created += 1
    return created
