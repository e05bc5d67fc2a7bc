"""`shiliu accounts`: staff accounts from the command line (assembled into `shiliu` by
infra/cli.py)."""

from __future__ import annotations

import click

from events.settings import Settings


@click.group("accounts")
def accounts() -> None:
    """Accounts: the first administrator of an installation, scripted set-ups."""


@accounts.command("create")
@click.option("--username", required=True, help="The staff member's sign-in name.")
@click.option("--password", required=True, help="At least 8 characters with letters and digits.")
@click.option("--role", required=True, type=click.Choice(["admin", "organizer", "committee"]))
@click.option("--unit", "unit_id", required=True, help="The unit's id (or its path, e.g. /nb/bl/).")
@click.option("--name", default=None, help="Display name (default: the username).")
def accounts_create(
    username: str, password: str, role: str, unit_id: str, name: str | None
) -> None:
    """Create a staff account holding ROLE at a unit (and its whole subtree)."""
    from sqlalchemy import or_, select

    from services.common.db import make_engine, make_session_factory, upgrade
    from services.common.errors import DomainError
    from web import operations
    from web.models import UnitView

    settings = Settings.from_env()
    url = settings.database_url("web")
    upgrade("web", url)
    factory = make_session_factory(make_engine(url))
    try:
        with factory() as session, session.begin():
            place = session.scalar(
                select(UnitView).where(or_(UnitView.unit_id == unit_id, UnitView.path == unit_id))
            )
            if place is None:
                raise click.UsageError(
                    f"unit {unit_id} is not known to web yet: create it first and let the "
                    "platform run a moment (web learns units from the unit.* events)"
                )
            account = operations.create_staff_unchecked(
                session, username, name or username, password, role, place.unit_id
            )
    except DomainError as exc:
        details = "; ".join(m for msgs in (exc.errors or {}).values() for m in msgs)
        raise click.ClickException(f"{exc.detail}{': ' + details if details else ''}") from exc
    click.echo(f"created {role} {username} at {place.name} ({place.path}): {account.id}")
