"""A consumer process for the crash test: applies unit events into the applied log until told."""

from __future__ import annotations

import sys

from backbone import count, logging_handlers, metadata, run_until

from events.consumer import ConsumerRunner
from events.settings import Settings
from services.common.db import make_engine, make_session_factory


def main() -> None:
    expected, must_see = int(sys.argv[1]), int(sys.argv[2])
    settings = Settings.from_env()
    engine = make_engine(settings.database_url("volunteers"))
    metadata.create_all(engine)
    factory = make_session_factory(engine)
    runner = ConsumerRunner(
        "crashy",
        logging_handlers(),
        factory,
        settings,
        group_id=f"{settings.topic_prefix}crashy",
        max_records=10,
    )
    run_until(
        runner,
        lambda: count(factory) >= expected and sum(runner.counts.values()) >= must_see,
    )


if __name__ == "__main__":
    main()
