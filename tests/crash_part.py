"""A part's consumer process for the crash tests, built from the registry as the part runs
(its handlers, consumer group and reader process): applies events until as many are applied as
it is told (SHILIU_FAULT may kill it first), then prints its counts.

    python tests/crash_part.py PART EXPECTED POLL

POLL is the most records a poll takes, and with a reader process the most a transaction takes,
so that a kill can fall anywhere along the stream."""

from __future__ import annotations

import sys

from backbone import count, run_until

from events.consumer import ConsumerRunner
from events.settings import Settings
from events.store import consumed_events
from infra.registry import PARTS
from services.common.db import make_engine, make_session_factory


def main() -> None:
    name, expected, poll = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    settings = Settings.from_env()
    part = PARTS[name]
    factory = make_session_factory(make_engine(settings.database_url(name)))
    runner = ConsumerRunner(
        part.name,
        part.handlers(),
        factory,
        settings,
        group_id=part.group_id(settings),
        max_records=poll,
        reader_process=part.reader_process,
        max_transaction_records=poll,
    )
    run_until(runner, lambda: count(factory, consumed_events) >= expected)


if __name__ == "__main__":
    main()
