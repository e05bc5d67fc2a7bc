"""The one Alembic environment every service's ``migrations/env.py`` runs."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, create_engine, pool

from events.store import metadata as backbone_metadata
from services.common.types import UTCDateTime


def render_item(type_, obj, autogen_context):
    """Write our own column types as the plain SQLAlchemy types they store as."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run(service_metadata: MetaData) -> None:
    """Run the service's migrations online, on a given connection or on the configured URL."""
    config = context.config
    target = [service_metadata, backbone_metadata]
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target,
            render_as_batch=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(
            connection=conn, target_metadata=target, render_as_batch=True, render_item=render_item
        )
        with context.begin_transaction():
            context.run_migrations()
