"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.problems import install_problem_handlers
from api.request_guard import DEFAULT_MAX_BODY_BYTES, RequestGuard
from api.routes import flows, fulfillment, installed, orders, returns, setup, summaries, webhooks, work
from engine.db import Database
from engine.runtime import Runtime
from engine.worker import BackgroundWorker


def create_app(
    database: Database,
    runtime: Runtime | None = None,
    *,
    start_worker: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """The app over ``database``. ``start_worker`` runs the in-process worker (the embedded default);
    request bodies over ``max_body_bytes`` are refused."""
    if runtime is None:
        from api.bootstrap import build_runtime

        runtime = build_runtime()
    worker = BackgroundWorker(database, runtime=runtime) if start_worker else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()

    app = FastAPI(
        title="Ordo",
        version="0.1.0",
        docs_url="/api/docs",
        openapi_url="/api/v1/openapi.json",
        lifespan=lifespan,
    )
    app.state.database = database
    app.state.runtime = runtime
    install_problem_handlers(app)
    app.add_middleware(RequestGuard, max_bytes=max_body_bytes)
    for module in (setup, orders, summaries, fulfillment, returns, work, flows, installed, webhooks):
        app.include_router(module.router)
    from designer import mount as mount_ui  # the browser UI: /ui pages and /static files

    mount_ui(app)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
