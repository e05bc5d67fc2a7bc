"""Alembic environment of services/statistics."""

from services.common.migrations_env import run
from services.statistics.models import Base

run(Base.metadata)
