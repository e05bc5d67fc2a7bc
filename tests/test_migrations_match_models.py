"""Each part's migrations make exactly the tables its models (and the backbone's) describe, on
SQLite and PostgreSQL: Alembic compares the migrated database with the metadata and finds nothing
to change. The backbone tables are written once (services/common/migrations.py) for every part's
history, so this is what keeps that sharing honest. Each history is also walked down to nothing
and up again first, so every revision's downgrade undoes its upgrade."""

from __future__ import annotations

import importlib

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from events.store import metadata as backbone_metadata
from services.common.access import metadata as access_metadata
from services.common.db import alembic_config, make_engine, upgrade

MODELS = {
    "activities": ("services.activities.models",),
    "volunteers": ("services.volunteers.models",),
    "ledger": ("services.ledger.models", "services.ledger.awards.models"),
    "notifications": ("services.notifications.models",),
    "statistics": ("services.statistics.models",),
    "web": ("web.models",),
}


@pytest.mark.parametrize("part", sorted(MODELS))
def test_a_migrated_database_is_what_the_models_describe(make_settings, engine_name, part):
    modules = [importlib.import_module(name) for name in MODELS[part]]
    url = make_settings(engine_name).database_url(part)
    upgrade(part, url)
    command.downgrade(alembic_config(part, url), "base")
    engine = make_engine(url)
    try:
        assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
        upgrade(part, url)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            described = [modules[0].Base.metadata, backbone_metadata, access_metadata]
            differences = compare_metadata(context, described)
    finally:
        engine.dispose()
    assert differences == []
