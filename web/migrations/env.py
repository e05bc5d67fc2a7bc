"""Alembic environment of web."""

from services.common.migrations_env import run
from web.models import Base

run(Base.metadata)
