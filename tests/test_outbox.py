"""The outbox: nothing published that was not committed, nothing committed left unpublished."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from backbone import read_topic, wait_for

from events.envelope import decode
from events.outbox import Relay, backlog
from infra.broker import EmbeddedBroker, free_port
from services.activities import operations
from services.common.app import ServiceContext
from services.common.db import upgrade


def test_an_event_emitted_in_a_rolled_back_transaction_is_never_published(settings, contexts):
    factory = contexts["activities"].session_factory
    with factory() as session, session.begin():
        operations.create_unit(session, name="宁波市", kind="city", slug="nb")
    with pytest.raises(RuntimeError), factory() as session, session.begin():
        operations.create_unit(session, name="回滚市", kind="city", slug="rollback")
        raise RuntimeError("the user's request failed after the emit")
    with factory() as session, session.begin():
        operations.create_unit(session, name="温州市", kind="city", slug="wz")

    relay = Relay("activities", factory, settings)
    assert relay.publish_pending() == 2
    relay.close()

    names = sorted(decode(r.value).payload["name"] for r in read_topic(settings, "shiliu.units", 2))
    assert names == ["宁波市", "温州市"]
    with factory() as session:
        assert backlog(session) == 0


@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_with_the_broker_down_actions_succeed_and_their_events_arrive_in_order_later(
    make_settings, engine_name, tmp_path
):
    # This test stops its broker, so it gets one of its own rather than the session's.
    port = free_port()
    settings = make_settings(engine_name, bootstrap=f"127.0.0.1:{port}")
    own = EmbeddedBroker(settings, port=port, log_path=tmp_path / "broker.log").start()
    upgrade("activities", settings.database_url("activities"))
    ctx = ServiceContext.create("activities", settings)
    relay = Relay("activities", ctx.session_factory, replace(settings), max_backoff=0.5)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    try:
        with ctx.session_factory() as session, session.begin():
            city = operations.create_unit(session, name="0", kind="city", slug="nb")
        wait_for(lambda: relay.published == 1, message="the first event to be relayed")

        own.stop()
        for n in range(1, 6):  # five renames of one unit: one key, so one partition and one order
            with ctx.session_factory() as session, session.begin():
                operations.rename_unit(session, city.id, str(n))
        with ctx.session_factory() as session:
            assert backlog(session) == 5
        assert thread.is_alive()

        own.start()  # an empty broker again: the launcher recreates the topics
        wait_for(lambda: relay.published == 6, timeout=60, message="the backlog to drain")
        records = read_topic(settings, "shiliu.units", 5)
        assert [decode(r.value).payload["name"] for r in records] == ["1", "2", "3", "4", "5"]
        assert [decode(r.value).type for r in records] == ["unit.updated"] * 5
    finally:
        stop.set()
        relay.wakeup.set()
        thread.join(20)
        own.stop()
        ctx.engine.dispose()
