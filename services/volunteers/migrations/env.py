"""Alembic environment of services/volunteers."""

from services.volunteers.models import Base
from services.common.migrations_env import run

run(Base.metadata)
