"""Alembic environment of services/volunteers."""

from services.common.migrations_env import run
from services.volunteers.models import Base

run(Base.metadata)
