"""Alembic environment of services/ledger."""

from services.common.migrations_env import run
from services.ledger.models import Base

run(Base.metadata)
