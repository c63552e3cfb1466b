"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from api.problems import install_problem_handlers
from engine.db import Database


def create_app(database: Database) -> FastAPI:
    app = FastAPI(title="Ordo", version="0.1.0", docs_url="/api/docs", openapi_url="/api/v1/openapi.json")
    app.state.database = database
    install_problem_handlers(app)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
