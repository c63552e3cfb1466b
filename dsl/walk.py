"""Iterating over expressions without recursion."""

from __future__ import annotations

from collections.abc import Iterator

from dsl import ast


def children(node: ast.Expr) -> tuple[ast.Expr, ...]:
    if isinstance(node, ast.Field):
        return (node.obj,)
    if isinstance(node, ast.Call):
        return node.args
    if isinstance(node, ast.ListExpr):
        return node.items
    if isinstance(node, ast.Interpolated):
        return tuple(p for p in node.parts if not isinstance(p, str))
    if isinstance(node, ast.Unary):
        return (node.operand,)
    if isinstance(node, ast.Arith):
        return (node.first, *(e for _, e in node.rest))
    if isinstance(node, ast.Compare):
        return (node.left, node.right)
    if isinstance(node, ast.BoolChain):
        return node.operands
    return ()


# Most nodes are leaves; telling them by type first spares children()'s chain of isinstance checks.
_LEAVES = frozenset({ast.Name, ast.Literal})


def walk(node: ast.Expr) -> Iterator[ast.Expr]:
    """Every sub-expression, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if type(current) not in _LEAVES:
            stack.extend(reversed(children(current)))
