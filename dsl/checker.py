"""Parse, compile and validate a whole source text."""

from __future__ import annotations

import gc

from dsl import CheckResult, ast
from dsl.build_ast import parse_expression, parse_source
from dsl.catalog import Catalog
from dsl.compiler import FlowCompiler
from dsl.diagnostics import Diagnostic, FlowCompileError, Severity, error
from dsl.expression import Expression
from dsl.suggest import did_you_mean
from dsl.validate import Validator, check_call
from dsl.walk import walk


def _sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    unique = list(dict.fromkeys(diagnostics))
    return sorted(
        unique, key=lambda d: (d.span.line, d.span.column, d.severity is not Severity.ERROR, d.code)
    )


def check_source(source: str, catalog: Catalog) -> CheckResult:
    # Checking allocates many small objects and frees almost none; pausing the cyclic collector
    # for its duration saves a third of the time on large flows.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _check_source(source, catalog)
    finally:
        if paused:
            gc.enable()


def _check_source(source: str, catalog: Catalog) -> CheckResult:
    tree, diagnostics = parse_source(source)
    if tree is None:
        return CheckResult(_sorted(diagnostics), [])
    by_id = {}
    for flow in tree.flows:
        if flow.id.name in by_id:
            message = f"a flow '{flow.id.name}' is already defined above"
            diagnostics.append(error("duplicate-flow", message, flow.id.span))
        else:
            by_id[flow.id.name] = flow
    compiler = FlowCompiler(source)
    graphs = []
    for flow in tree.flows:
        compiled = compiler.compile(flow)
        diagnostics.extend(compiled.diagnostics)
        diagnostics.extend(Validator(compiled, catalog, by_id).run())
        graphs.append(compiled.graph)
    return CheckResult(_sorted(diagnostics), graphs)


def compile_one_expression(text: str, names: set[str] | None = None) -> Expression:
    tree, problems = parse_expression(text)
    if tree is None:
        raise FlowCompileError(problems)
    for node in walk(tree):
        if isinstance(node, ast.Call):
            check_call(node, problems)
        elif isinstance(node, ast.Name) and names is not None and node.name not in names:
            hint = did_you_mean(node.name, names)
            problems.append(error("unknown-name", f"unknown name '{node.name}'{hint}", node.span))
    if any(p.severity is Severity.ERROR for p in problems):
        raise FlowCompileError(problems)
    return Expression(text.strip(), tree.span, tree)
