"""Alembic environment of services/notifications."""

from services.common.migrations_env import run
from services.notifications.models import Base

run(Base.metadata)
