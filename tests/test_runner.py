"""The in-process runner (events/runner.py) that domain-rule tests use instead of the broker:
every part's outbox reaches the consuming parts in commit order, once, with no broker at all."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from events.runner import InProcessRunner
from events.store import consumed_events, outbox
from infra.registry import PARTS
from services.activities import operations
from services.common.app import ServiceContext
from services.volunteers.models import UnitView as VolunteerUnit
from web.models import UnitView as WebUnit


@pytest.fixture
def parts(make_settings, engine_name):
    """Every part on migrated databases of this engine, with no broker (nobody listens there)."""
    settings = make_settings(engine_name, bootstrap="127.0.0.1:1", migrated=True)
    made = {name: ServiceContext.create(name, settings) for name in PARTS}
    runner = InProcessRunner(
        {name: ctx.session_factory for name, ctx in made.items()},
        {name: part.handlers() for name, part in PARTS.items()},
        settings,
    )
    yield made, runner
    for ctx in made.values():
        ctx.engine.dispose()


def _units(ctx, model) -> dict[str, str]:
    with ctx.session_factory() as session:
        return dict(session.execute(select(model.unit_id, model.name)).all())


def _unsent(ctx) -> int:
    with ctx.session_factory() as session:
        return session.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        )


def test_committed_events_reach_every_consuming_part_in_commit_order_and_once(parts):
    made, runner = parts
    factory = made["activities"].session_factory
    with factory() as session, session.begin():
        city = operations.create_unit(session, name="宁波市", kind="city", slug="nb")
    with factory() as session, session.begin():
        operations.rename_unit(session, city.id, "宁波")  # the later event must win
    with pytest.raises(RuntimeError), factory() as session, session.begin():
        operations.create_unit(session, name="回滚市", kind="city", slug="rollback")
        raise RuntimeError("rolled back after the emit")

    assert runner.run_until_quiet() == 2
    for name, model in (("volunteers", VolunteerUnit), ("web", WebUnit)):
        assert _units(made[name], model) == {city.id: "宁波"}, name
    assert _unsent(made["activities"]) == 0
    assert runner.run_until_quiet() == 0  # nothing is handed on twice

    # An event handed on again (as a broker may redeliver) changes nothing.
    with factory() as session, session.begin():
        session.execute(outbox.update().values(sent_at=None))
    assert runner.run_until_quiet() == 2
    assert runner.consumers["volunteers"].counts["duplicate"] == 2
    with made["volunteers"].session_factory() as session:
        applied = session.scalar(
            select(func.count())
            .select_from(consumed_events)
            .where(consumed_events.c.consumer == "volunteers")
        )
    assert applied == 2
