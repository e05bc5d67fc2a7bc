"""Alembic environment of services/ledger."""

from services.ledger.models import Base
from services.common.migrations_env import run

run(Base.metadata)
