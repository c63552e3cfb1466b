"""The ``ordo`` command line."""

from __future__ import annotations

from typing import Annotated

import typer

# Importing the bootstrap registers the built-in actions, so `ordo flow check` sees the real catalog.
import api.bootstrap  # noqa: F401
from api.cli_flow import flow_app
from api.keys import Role, create_key
from api.settings import get_settings
from engine.db import Database
from migrations.runner import upgrade

app = typer.Typer(help="Ordo: order management whose behaviour lives in flows.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(flow_app, name="flow")

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: ORDO_DATABASE_URL).")]


def _url(db: str | None) -> str:
    return db or get_settings().database_url


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Migrates the database to the newest schema."""
    upgrade(_url(db))
    typer.echo("database is at the newest schema", err=True)


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="admin, manager, agent or integrator")],
    name: Annotated[str, typer.Option(help="Who or what the key is for")],
    db: DbOption = None,
) -> None:
    """Prints a new API key alone on stdout."""
    url = _url(db)
    upgrade(url)
    database = Database(url)
    with database.uow() as uow:
        secret = create_key(uow.session, role=role, name=name)
        uow.commit()
    database.dispose()
    typer.echo(secret)


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="Load demo data and print demo keys")] = False,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Do not run the in-process worker")] = False,
) -> None:
    """Serves the API and the browser UI; migrates the database and loads the starter flows first."""
    import uvicorn

    from api.app import create_app
    from api.bootstrap import build_runtime, prepare_database

    url = _url(db)
    database = Database(url)
    runtime = build_runtime()
    prepare_database(database, runtime)
    if demo:
        from api.demo import load_demo

        for role, secret in load_demo(database, runtime).items():
            typer.echo(f"demo {role:<10} key: {secret}")
    typer.echo(f"Ordo on http://{host}:{port}  (database {url})")
    typer.echo(f"  log in at http://{host}:{port}/ui/login with an API key; API docs at /api/docs")
    application = create_app(
        database, runtime, start_worker=not no_worker, max_body_bytes=get_settings().max_body_bytes
    )
    uvicorn.run(application, host=host, port=port, log_level="info")


@app.command()
def worker(
    db: DbOption = None,
    idle: Annotated[float, typer.Option(help="Seconds to sleep when no work is due")] = 0.5,
    batch: Annotated[int, typer.Option(help="Due runs claimed at a time")] = 50,
    lease: Annotated[
        float, typer.Option(help="Seconds a claim lasts; a dead worker's runs wait this long")
    ] = 60.0,
) -> None:
    """Runs due waits, timers, retries and outbound events; many may run against one PostgreSQL."""
    from api.bootstrap import build_runtime
    from engine.worker import work_forever

    url = _url(db)
    upgrade(url)
    database = Database(url)
    runtime = build_runtime()
    runtime.lease_s = lease
    typer.echo(f"ordo worker on {url}", err=True)
    work_forever(database, runtime=runtime, idle_s=idle, limit=batch)


@app.command()
def bench(
    orders: Annotated[int, typer.Option(help="How many orders to drive through the lifecycle")] = 1000,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: a new SQLite file)")] = None,
) -> None:
    """Orders per second through capture, routing, payment, shipment and capture, beside a raw-SQL floor."""
    import tempfile

    from rich.console import Console

    from api.bench import print_report, run_bench

    # Never the working database by default: a bench writes thousands of orders.
    url = db or f"sqlite:///{tempfile.mkdtemp(prefix='ordo-bench-')}/bench.db"
    console = Console()
    print_report(run_bench(url, orders, Console(stderr=True)), url, console)


@app.command()
def plugins() -> None:
    """Lists the installed plugins (flow actions and payment gateways); exits 1 if any failed to load."""
    from api.bootstrap import build_runtime
    from api.installed import plugin_statuses

    statuses = plugin_statuses(build_runtime().registry)
    if not statuses:
        typer.echo("no plugins installed")
    for status in statuses:
        origin = f" ({status.distribution} {status.version})" if status.distribution else ""
        if status.loaded:
            typer.echo(f"loaded  {status.group}  {status.entry_point}{origin}")
            for kind, names in (("action", status.actions), ("event", status.events)):
                for name in names:
                    typer.echo(f"          {kind} {name}")
        else:
            typer.echo(f"FAILED  {status.group}  {status.entry_point}: {status.error}")
    if any(not status.loaded for status in statuses):
        raise typer.Exit(1)


def main() -> None:
    app()
