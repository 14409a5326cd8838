"""Persistence: SQLAlchemy models, the database handle and Alembic migrations."""

from .db import Database
from .models import ROLES, Base

__all__ = ["ROLES", "Base", "Database"]
