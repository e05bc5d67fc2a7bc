"""A notifications consumer process for the crash test: applies events until as many are
applied as it is told (SHILIU_FAULT may kill it first), then prints its counts."""

from __future__ import annotations

import json
import sys

from sqlalchemy import func, select

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

    def applied() -> int:
        with factory() as session:
            return session.scalar(select(func.count()).select_from(consumed_events))

    while applied() < expected:
        runner.poll_once(timeout_ms=500)
    runner.close()
    print(json.dumps(dict(runner.counts)))


if __name__ == "__main__":
    main()
