"""Expressions back to text in canonical spacing, with only the parentheses the meaning needs."""

from __future__ import annotations

from decimal import Decimal

from dsl import ast

# Binding strength, weakest first; a child printed where a stronger one is needed gets parentheses.
_OR, _AND, _NOT, _COMPARE, _SUM, _PRODUCT, _UNARY, _POSTFIX, _ATOM = range(1, 10)

_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "{": "\\{", "}": "\\}"}


def quote(text: str, braces: bool = True) -> str:
    """A string literal for ``text``; braces are escaped where the string would interpolate."""
    out = []
    for char in text:
        if char in "{}" and not braces:
            out.append(char)
        else:
            out.append(_STRING_ESCAPES.get(char, char))
    return '"' + "".join(out) + '"'


def _strength(node: ast.Expr) -> int:
    if isinstance(node, ast.BoolChain):
        return _OR if node.op == "or" else _AND
    if isinstance(node, ast.Unary):
        return _NOT if node.op == "not" else _UNARY
    if isinstance(node, ast.Compare):
        return _COMPARE
    if isinstance(node, ast.Arith):
        return _SUM if node.rest and node.rest[0][0] in "+-" else _PRODUCT
    if isinstance(node, ast.Literal) and isinstance(node.value, int | Decimal) and node.value < 0:
        return _UNARY
    if isinstance(node, ast.Field):
        return _POSTFIX
    return _ATOM


def print_expr(node: ast.Expr, needed: int = 0) -> str:
    text = _print(node)
    return f"({text})" if _strength(node) < needed else text


def _literal(value: ast.LiteralValue) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    return str(value)


def _print(node: ast.Expr) -> str:
    if isinstance(node, ast.Literal):
        return _literal(node.value)
    if isinstance(node, ast.Name):
        return node.name
    if isinstance(node, ast.Field):
        return f"{print_expr(node.obj, _POSTFIX)}.{node.name}"
    if isinstance(node, ast.Call):
        return f"{node.func}({', '.join(print_expr(a) for a in node.args)})"
    if isinstance(node, ast.ListExpr):
        return f"[{', '.join(print_expr(i) for i in node.items)}]"
    if isinstance(node, ast.Interpolated):
        parts = []
        for part in node.parts:
            if isinstance(part, str):
                parts.append(quote(part)[1:-1])
            else:
                inner = print_expr(part).replace("\\", "\\\\").replace('"', '\\"')
                parts.append("{" + inner + "}")
        return '"' + "".join(parts) + '"'
    if isinstance(node, ast.Unary):
        if node.op == "not":
            return f"not {print_expr(node.operand, _NOT)}"
        return f"-{print_expr(node.operand, _UNARY)}"
    if isinstance(node, ast.Compare):
        return f"{print_expr(node.left, _SUM)} {node.op} {print_expr(node.right, _SUM)}"
    if isinstance(node, ast.Arith):
        level = _strength(node)
        text = print_expr(node.first, level)
        for op, operand in node.rest:
            text += f" {op} {print_expr(operand, level + 1)}"
        return text
    level = _OR if node.op == "or" else _AND
    return f" {node.op} ".join(print_expr(o, level + 1) for o in node.operands)
