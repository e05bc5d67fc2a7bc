"""Alembic environment of services/activities."""

from services.activities.models import Base
from services.common.migrations_env import run

run(Base.metadata)
