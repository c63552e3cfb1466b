"""Ordo's flow language: parse, check and compile `.flow` text into FlowGraphs; format and draw them.

``dsl`` knows nothing of orders. It compiles against a ``Catalog`` (actions, events, callable flows)
that the engine builds from its registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dsl.catalog import ActionSpec, Catalog, EventSpec, ParamSpec
from dsl.diagnostics import Diagnostic, ExpressionError, FlowCompileError, Severity, Span
from dsl.expression import Expression
from dsl.flowgraph import EdgeKind, FlowGraph, NodeKind

__all__ = [
    "ActionSpec",
    "Catalog",
    "CheckResult",
    "Diagnostic",
    "EdgeKind",
    "EventSpec",
    "Expression",
    "ExpressionError",
    "FlowCompileError",
    "FlowGraph",
    "NodeKind",
    "ParamSpec",
    "Severity",
    "Span",
    "check",
    "compile_expression",
    "compile_flows",
    "format_source",
    "to_dot",
    "to_json",
    "to_mermaid",
    "to_svg",
]


@dataclass
class CheckResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    flows: list[FlowGraph] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]


def check(source: str, catalog: Catalog) -> CheckResult:
    """Every diagnostic for ``source``, sorted by position, and the flows that compiled. Never raises."""
    from dsl.checker import check_source

    try:
        return check_source(source, catalog)
    except RecursionError:
        message = "this text nests too deeply to check"
        return CheckResult([Diagnostic("too-deep", Severity.ERROR, message, Span(1, 1, 1, 2))], [])
    except Exception as exc:  # a checker bug must still come back as a diagnostic, not a crash
        message = f"internal error while checking ({type(exc).__name__}); please report it"
        return CheckResult([Diagnostic("internal", Severity.ERROR, message, Span(1, 1, 1, 2))], [])


def compile_flows(source: str, catalog: Catalog) -> list[FlowGraph]:
    """The flows of ``source``; raises FlowCompileError when there is any error."""
    result = check(source, catalog)
    if not result.ok:
        raise FlowCompileError(result.diagnostics)
    return result.flows


def compile_expression(text: str, names: set[str] | None = None) -> Expression:
    """One expression on its own (benchmarks, tests, the engine's ad hoc rules).

    With ``names``, every name the expression reads must be one of them.
    """
    from dsl.checker import compile_one_expression

    return compile_one_expression(text, names)


def format_source(source: str) -> str:
    """The canonical layout of ``source``; raises FlowCompileError if it does not parse."""
    from dsl.formatter import format_source as fmt

    return fmt(source)


def to_json(fg: FlowGraph) -> dict[str, object]:
    from dsl.export import to_json as export

    return export(fg)


def to_mermaid(fg: FlowGraph) -> str:
    from dsl.export import to_mermaid as export

    return export(fg)


def to_dot(fg: FlowGraph) -> str:
    from dsl.export import to_dot as export

    return export(fg)


def to_svg(fg: FlowGraph) -> str:
    from dsl.svg import to_svg as export

    return export(fg)
