"""The browser UI (Jinja2 + HTMX): the flow designer, and later the agents' order console.

``mount(app)`` is the one call the app factory makes: routers, static files and the HTML error pages.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

ASSETS_VENDOR = Path(__file__).resolve().parent.parent / "assets" / "vendor"
STATIC = Path(__file__).resolve().parent / "static"


def mount(app: FastAPI) -> None:
    from fastapi.staticfiles import StaticFiles

    from designer.errors import install_error_pages
    from designer.routes import ROUTERS

    for router in ROUTERS:
        app.include_router(router)
    # Vendored third-party files (htmx) are served from assets/, our own small JS and CSS from static/.
    app.mount("/static/vendor", StaticFiles(directory=ASSETS_VENDOR), name="vendor")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_error_pages(app)
