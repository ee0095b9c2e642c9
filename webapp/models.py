"""Every domain's models imported in one place, so Alembic and tests see the whole schema."""

from webapp.accounts.models import User
from webapp.characters.models import Character
from webapp.db import Base

metadata = Base.metadata

__all__ = ["Character", "User", "metadata"]
