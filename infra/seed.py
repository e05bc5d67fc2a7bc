"""The demonstration city: a few districts, streets, communities and a 石榴红 team."""

from __future__ import annotations

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
    return created
