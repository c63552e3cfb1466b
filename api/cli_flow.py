"""`ordo flow ...`: check, format and draw flow files from the command line."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

import dsl
from dsl.diagnostics import FlowCompileError, Severity
from engine.catalog import current_catalog

flow_app = typer.Typer(help="Flows: check, format, draw.", no_args_is_help=True)


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"
    json = "json"
    svg = "svg"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"{path}: cannot read: {exc}", err=True)
        raise typer.Exit(2) from None


@flow_app.command()
def check(files: Annotated[list[Path], typer.Argument(help="Flow files to check.")]) -> None:
    """Print FILE:LINE:COL: error|warning: MESSAGE [CODE] per problem; exit 1 if any error."""
    catalog = current_catalog()
    failed = False
    for path in files:
        result = dsl.check(_read(path), catalog)
        for diagnostic in result.diagnostics:
            typer.echo(diagnostic.render(str(path)))
            failed = failed or diagnostic.severity is Severity.ERROR
    raise typer.Exit(1 if failed else 0)


@flow_app.command()
def fmt(
    files: Annotated[list[Path], typer.Argument(help="Flow files to format in place.")],
    check_only: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if a file would change.")
    ] = False,
) -> None:
    """Rewrite files in canonical form (or, with --check, only report which would change)."""
    changed = False
    broken = False
    for path in files:
        source = _read(path)
        try:
            formatted = dsl.format_source(source)
        except FlowCompileError as exc:
            for diagnostic in exc.diagnostics:
                typer.echo(diagnostic.render(str(path)), err=True)
            broken = True
            continue
        if formatted != source:
            changed = True
            if check_only:
                typer.echo(f"{path}: would be reformatted")
            else:
                path.write_text(formatted, encoding="utf-8")
                typer.echo(f"{path}: reformatted")
    raise typer.Exit(1 if broken or (check_only and changed) else 0)


@flow_app.command()
def graph(
    file: Annotated[Path, typer.Argument(help="A flow file.")],
    format: Annotated[GraphFormat, typer.Option("--format", help="Output format.")] = GraphFormat.mermaid,
) -> None:
    """Print the compiled graph of every flow in FILE."""
    result = dsl.check(_read(file), current_catalog())
    if not result.ok:
        for diagnostic in result.diagnostics:
            typer.echo(diagnostic.render(str(file)), err=True)
        raise typer.Exit(1)
    if format is GraphFormat.json:
        payload = [dsl.to_json(fg) for fg in result.flows]
        typer.echo(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2))
        return
    render = {GraphFormat.mermaid: dsl.to_mermaid, GraphFormat.dot: dsl.to_dot, GraphFormat.svg: dsl.to_svg}[
        format
    ]
    typer.echo("\n".join(render(fg) for fg in result.flows), nl=False)
