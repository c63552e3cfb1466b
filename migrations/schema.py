"""Every module that declares tables, so ``Base.metadata`` holds the whole schema for Alembic and tests."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from engine.db import Base

MODEL_MODULES = ("engine.models", "orders.models", "api.records", "designer.records")


def load_all_models() -> MetaData:
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata
