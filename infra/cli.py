"""`shiliu`: the command line of the platform.

Each command lives next to what it commands; this module only assembles them into ``main``:

| module | commands |
| --- | --- |
| ``events/cli.py`` | ``events``, ``topics``, ``dlq``, ``reconcile``, ``republish`` |
| ``services/ledger/cli.py`` | ``ledger`` |
| ``web/cli.py`` | ``accounts`` |
| ``infra/commands.py`` | ``dev``, ``seed``, ``db``, ``worker``, ``probe``, ``ready``, ``gateway``, ``bench`` |
"""

from __future__ import annotations

import gc

import click

from events import cli as backbone
from infra import commands as platform
from services.ledger import cli as ledger
from web import cli as web


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """石榴 Shiliu: activities, volunteers, points and recognition for urban ethnic-unity work.

    Configuration comes from SHILIU_* environment variables (see the README).
    """
    # Collect the youngest objects every 50,000 allocations rather than every 700, and the
    # oldest a tenth as often: a consumer's transaction makes tens of thousands of short-lived
    # objects, and each collection walks them all again (at the defaults, about a seventh of the
    # ledger's ingest time). Objects without cycles are freed at once as ever.
    gc.set_threshold(50_000, 20, 100)


for command in (*backbone.COMMANDS, *platform.COMMANDS, ledger.ledger_group, web.accounts):
    main.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    main()
