"""The outbox: nothing published that was not committed, nothing committed left unpublished."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from backbone import read_topic, wait_for
from databases import POSTGRES, migrate
from sqlalchemy import func, select

from events.envelope import decode
from events.outbox import Relay, backlog
from events.store import relay_state
from infra.broker import EmbeddedBroker, free_port
from services.activities import operations
from services.common.app import ServiceContext


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
def test_with_the_broker_down_actions_succeed_and_the_new_broker_gets_the_whole_outbox_in_order(
    make_settings, engine_name, tmp_path, caplog
):
    """The embedded broker keeps nothing: the one started again holds none of what the first
    acknowledged, so the relay publishes its whole outbox again, in commit order. It does so with
    a new producer as soon as it learns the broker changed: the old producer's id was the dead
    broker's, and the new broker refuses it until the delivery timeout expires the records."""
    # This test stops its broker, so it gets one of its own rather than the session's.
    port = free_port()
    settings = make_settings(engine_name, bootstrap=f"127.0.0.1:{port}")
    own = EmbeddedBroker(settings, port=port, log_path=tmp_path / "broker.log").start()
    migrate("activities", settings.database_url("activities"))
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
        wait_for(lambda: relay.published == 7, timeout=60, message="the outbox to be published")
        assert relay.redriven == 1  # the first event, acknowledged by the broker that died
        records = read_topic(settings, "shiliu.units", 6)
        assert [decode(r.value).payload["name"] for r in records] == ["0", "1", "2", "3", "4", "5"]
        assert [decode(r.value).type for r in records] == ["unit.created"] + ["unit.updated"] * 5
        expired = [r.getMessage() for r in caplog.records if "Expiring" in r.getMessage()]
        assert expired == [], "the relay waited out the delivery timeout with a dead producer id"
    finally:
        stop.set()
        relay.wakeup.set()
        thread.join(20)
        own.stop()
        ctx.engine.dispose()


@pytest.mark.skipif(not POSTGRES, reason="the outbox lock is PostgreSQL's")
@pytest.mark.parametrize("engine_name", ["postgresql"])
def test_an_emitting_transaction_takes_the_outbox_lock_before_its_row_gets_a_number(
    settings, contexts
):
    # Sequence numbers follow commit order only if a waiting emitter draws its number after
    # the transaction ahead of it committed (see events.outbox.locked_insert).
    from sqlalchemy import text

    from events import catalog
    from events.outbox import emit
    from events.store import outbox

    ctx = contexts["volunteers"]

    def event(name: str):
        payload = {**catalog.get("unit.created").example, "name": name}
        return catalog.make_event("unit.created", payload, producer="test")

    with ctx.engine.connect() as watcher:
        sequence = watcher.scalar(text("SELECT pg_get_serial_sequence('outbox', 'seq')"))
    first = ctx.session_factory()
    first.begin()
    emit(first, event("first"))
    drawn = first.scalar(select(func.max(outbox.c.seq)))
    second_done = threading.Event()
    backend: list[int] = []

    def second():
        with ctx.session_factory() as session, session.begin():
            backend.append(session.scalar(text("SELECT pg_backend_pid()")))
            emit(session, event("second"))
        second_done.set()

    thread = threading.Thread(target=second)
    thread.start()
    try:
        with ctx.engine.connect() as watcher:

            def waiting_for_the_lock() -> bool:
                return bool(backend) and bool(
                    watcher.scalar(
                        text(
                            "SELECT count(*) FROM pg_locks "
                            "WHERE locktype = 'advisory' AND NOT granted AND pid = :pid"
                        ),
                        {"pid": backend[0]},
                    )
                )

            wait_for(waiting_for_the_lock, message="the second emitter to wait for the lock")
            assert not second_done.is_set()
            # Waiting, it has drawn no number yet.
            assert watcher.scalar(text(f"SELECT last_value FROM {sequence}")) == drawn
        first.commit()
    finally:
        first.close()
        thread.join(20)
    assert second_done.is_set()
    with ctx.session_factory() as session:
        rows = session.execute(select(outbox.c.seq, outbox.c.value).order_by(outbox.c.seq)).all()
    names = [decode(bytes(row.value)).payload["name"] for row in rows]
    assert names[-2:] == ["first", "second"] and rows[-1].seq > drawn


def test_a_relay_publishes_again_only_for_a_broker_it_has_not_published_to(make_settings, tmp_path):
    """Relays restarted against the same broker send nothing twice; a broker started again
    empty (a new cluster id) gets everything, and the outbox remembers which broker it was."""
    port = free_port()
    settings = make_settings("sqlite", bootstrap=f"127.0.0.1:{port}")
    own = EmbeddedBroker(settings, port=port, log_path=tmp_path / "broker.log").start()
    migrate("activities", settings.database_url("activities"))
    ctx = ServiceContext.create("activities", settings)
    try:
        with ctx.session_factory() as session, session.begin():
            for n in range(3):
                operations.create_unit(session, name=f"市{n}", kind="city", slug=f"c{n}")
        first = Relay("activities", ctx.session_factory, settings)
        assert first.publish_pending() == 3
        first.close()
        again = Relay("activities", ctx.session_factory, settings)
        assert again.check_broker() == 0 and again.publish_pending() == 0
        again.close()
        with ctx.session_factory() as session:
            assert session.scalar(select(relay_state.c.broker_id)) == own.cluster_id

        own.stop()
        own.start()
        after = Relay("activities", ctx.session_factory, settings)
        assert after.publish_pending() == 3 and after.redriven == 3
        assert after.publish_pending() == 0
        after.close()
        names = sorted(
            decode(r.value).payload["name"] for r in read_topic(settings, "shiliu.units", 3)
        )
        assert names == ["市0", "市1", "市2"]
        with ctx.session_factory() as session:
            assert session.scalar(select(relay_state.c.broker_id)) == own.cluster_id
    finally:
        own.stop()
        ctx.engine.dispose()
