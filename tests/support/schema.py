"""The test suite builds the same schema that Alembic migrates."""

from migrations.schema import load_all_models

__all__ = ["load_all_models"]
