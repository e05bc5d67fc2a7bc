"""A notifications consumer process for the crash test: applies events until as many are
applied as it is told (SHILIU_FAULT may kill it first), then prints its counts."""

from __future__ import annotations

import sys

from backbone import count, run_until

from events.consumer import ConsumerRunner
from events.settings import Settings
from events.store import consumed_events
from infra.registry import PARTS
from services.common.db import make_engine, make_session_factory


def main() -> None:
    expected = int(sys.argv[1])
    settings = Settings.from_env()
    part = PARTS["notifications"]
    factory = make_session_factory(make_engine(settings.database_url("notifications")))
    runner = ConsumerRunner(
        "notifications",
        part.handlers(),
        factory,
        settings,
        group_id=part.group_id(settings),
        max_records=4,
    )
    run_until(runner, lambda: count(factory, consumed_events) >= expected)


if __name__ == "__main__":
    main()
