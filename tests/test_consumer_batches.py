"""Batch handlers in the consumer runner: a handler made with ``batched`` gets each run of its
events in a poll at once, in order, beside handlers that take one event at a time; when a batch
fails, every event is applied again on its own and only the one that keeps failing is lost to
the dead letters."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

from backbone import applied_log, metadata, unit_event
from sqlalchemy import select

from events.consumer import ConsumerRunner, batched
from events.settings import Settings
from events.store import metadata as backbone_metadata
from services.common.db import make_engine, make_session_factory


def _records(events):
    return [
        SimpleNamespace(
            topic="shiliu.units", partition=0, offset=n, key=e.key.encode(), value=e.encode()
        )
        for n, e in enumerate(events)
    ]


def _runner(tmp_path, calls, poisoned=()):
    engine = make_engine(f"sqlite:///{tmp_path / 'consumer.db'}")
    metadata.create_all(engine)
    backbone_metadata.create_all(engine)
    factory = make_session_factory(engine)

    def log(session, event, payload):
        session.execute(
            applied_log.insert().values(event_id=event.id, key=event.key, seq=int(payload["name"]))
        )

    def apply_many(session, items):
        calls.append([int(payload["name"]) for _, payload in items])
        for event, payload in items:
            if payload["name"] in poisoned:
                raise RuntimeError(f"cannot apply {payload['name']}")
            log(session, event, payload)

    def one(session, event, payload):
        calls.append(int(payload["name"]))
        log(session, event, payload)

    handlers = {"unit.created": batched(apply_many), "unit.updated": one}
    runner = ConsumerRunner("batches", handlers, factory, Settings.from_env({}), retry_backoff=0)
    runner.letters = []
    runner._dead_letter = lambda record, reason: runner.letters.append(reason)
    return runner, factory


def _applied(factory) -> list[int]:
    with factory() as session:
        return list(session.scalars(select(applied_log.c.seq).order_by(applied_log.c.id)))


def test_a_batch_handler_gets_each_run_of_its_events_and_the_others_keep_their_place(tmp_path):
    calls: list = []
    runner, factory = _runner(tmp_path, calls)
    created = [unit_event(f"u{n}", n, "unit.created") for n in range(6)]
    poll = [
        created[0],
        created[1],
        unit_event("u9", 2, "unit.updated"),
        created[3],
        created[1],  # delivered twice: not handed to the batch again
        created[4],
        created[5],
    ]
    outcomes = runner.apply_records(_records(poll))
    assert calls == [[0, 1], 2, [3, 4, 5]]
    assert [o.status for o in outcomes].count("duplicate") == 1
    assert _applied(factory) == [0, 1, 2, 3, 4, 5]

    calls.clear()
    again = runner.apply_records(_records(poll))
    assert calls == [] and {o.status for o in again} == {"duplicate"}


def test_a_failing_batch_is_applied_again_one_event_at_a_time(tmp_path):
    calls: list = []
    runner, factory = _runner(tmp_path, calls, poisoned={"13"})
    poll = [unit_event(f"u{n}", n, "unit.created") for n in (10, 11, 13, 14)]
    outcomes = runner.apply_records(_records(poll))
    assert calls[0] == [10, 11, 13, 14]  # the optimistic pass, rolled back
    assert calls[1:] == [[10], [11], [13], [13], [13], [14]]  # three tries for the poisoned one
    assert [o.status for o in outcomes] == ["applied", "applied", "dead_lettered", "applied"]
    assert runner.letters == ["handler failed 3 times: RuntimeError: cannot apply 13"]
    assert _applied(factory) == [10, 11, 14]


def test_payloads_validated_together_still_send_only_the_invalid_ones_to_the_dead_letters(
    tmp_path,
):
    """A poll's payloads of one type are validated at once; one that does not match its schema
    is dead-lettered with its own reason, a malformed record with its own, and the rest apply
    in order."""
    calls: list = []
    runner, factory = _runner(tmp_path, calls)
    poll = [unit_event(f"u{n}", n, "unit.created") for n in (20, 21, 22, 23)]
    broken = replace(poll[1], payload={**poll[1].payload, "kind": "planet"})
    records = _records([poll[0], broken, poll[2], poll[3]])
    records.insert(3, SimpleNamespace(**{**vars(records[0]), "value": b"{not json"}))
    outcomes = runner.apply_records(records)
    assert [o.status for o in outcomes] == [
        "applied",
        "dead_lettered",
        "applied",
        "dead_lettered",
        "applied",
    ]
    assert runner.letters[0].startswith("invalid payload: {'kind'")
    assert runner.letters[1].startswith("malformed: not UTF-8 JSON")
    assert calls == [[20, 22, 23]]
    assert _applied(factory) == [20, 22, 23]
