"""A ledger consumer process for the crash test: applies attendance events until told."""

from __future__ import annotations

import sys

from backbone import count, run_until

from events.consumer import ConsumerRunner
from events.settings import Settings
from events.store import consumed_events
from services.common.db import make_engine, make_session_factory
from services.ledger.handlers import HANDLERS


def main() -> None:
    expected = int(sys.argv[1])
    settings = Settings.from_env()
    engine = make_engine(settings.database_url("ledger"))
    factory = make_session_factory(engine)
    poll = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    runner = ConsumerRunner(
        "ledger",
        HANDLERS,
        factory,
        settings,
        group_id=f"{settings.topic_prefix}shiliu-ledger",
        max_records=poll,
        reader_process=True,  # as services/ledger runs (infra/registry.py)
        max_transaction_records=poll,  # one poll a transaction: the kills fall all along the stream
    )
    run_until(runner, lambda: count(factory, consumed_events) >= expected)


if __name__ == "__main__":
    main()
