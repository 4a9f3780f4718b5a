"""The run console's input: what the candidate typed, per kind, checked and parsed as data.

Each kind's console takes its own fields (see ``parse_request``); arguments of a function
call are parsed here, on the host, as literals only: nothing typed is ever evaluated.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from heldout.graders.errors import GraderError

Mode = Literal["call", "sql", "request", "run"]
# Caps on what the candidate may type: the console is for trying a case, not for bulk data.
MAX_INPUT_CHARS = 16 * 1024
MAX_NESTING = 40
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
MAX_PATH_CHARS = 2000
# The console of each kind: a call, a query, a request, or the entrypoint run.
MODES: dict[str, Mode] = {
    "function": "call", "sql": "sql", "deployment": "request",
    "model_training": "run", "feature_engineering": "run", "notebook": "run",
}


class ConsoleInputError(ValueError):
    """What the candidate typed can't be run; the message says why, in their words."""


@dataclass(frozen=True)
class ConsoleRequest:
    """One console run's input, validated: what runs and with what."""

    mode: Mode
    function: str = ""
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    query: str = ""
    method: str = "GET"
    path: str = "/"
    body: str | None = None
    # As typed, for the page to show back (arguments or the query or the body).
    typed: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "function": self.function, "args": list(self.args),
                "kwargs": dict(self.kwargs), "query": self.query, "method": self.method,
                "path": self.path, "body": self.body, "typed": self.typed}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ConsoleRequest:
        """A stored request (written by :func:`parse_request`); a malformed one raises."""
        mode = raw.get("mode")
        if mode not in ("call", "sql", "request", "run"):
            raise ValueError(f"not a console request: mode {mode!r}")
        body = raw.get("body")
        return cls(mode=mode, function=str(raw.get("function", "")),
                   args=tuple(raw.get("args") or ()), kwargs=dict(raw.get("kwargs") or {}),
                   query=str(raw.get("query", "")), method=str(raw.get("method", "GET")),
                   path=str(raw.get("path", "/")), body=None if body is None else str(body),
                   typed=str(raw.get("typed", "")))


def mode_of(kind: str) -> Mode:
    try:
        return MODES[kind]
    except KeyError:
        raise GraderError(f"no console for the {kind} kind") from None


def parse_request(kind: str, fields: Mapping[str, str]) -> ConsoleRequest:
    """The console's form, per kind, as a request; ``ConsoleInputError`` says what is wrong.

    ``fields``: ``function`` and ``arguments`` (function), ``query`` (sql), ``method``,
    ``path`` and ``body`` (deployment); the other kinds take nothing.
    """
    mode = mode_of(kind)
    for name, value in fields.items():
        if len(value) > MAX_INPUT_CHARS:
            raise ConsoleInputError(f"The {name} is {len(value):,} characters long; the console "
                                    f"takes up to {MAX_INPUT_CHARS:,}.")
    if mode == "call":
        function = fields.get("function", "").strip()
        if not function.isidentifier():
            raise ConsoleInputError("Name the function to call (letters, digits and _).")
        typed = fields.get("arguments", "")
        args, kwargs = parse_arguments(typed)
        return ConsoleRequest("call", function=function, args=args, kwargs=kwargs, typed=typed)
    if mode == "sql":
        query = fields.get("query", "").strip()
        if not query:
            raise ConsoleInputError("Type a query to run.")
        return ConsoleRequest("sql", query=query, typed=query)
    if mode == "request":
        method = fields.get("method", "GET").strip().upper()
        if method not in METHODS:
            raise ConsoleInputError(f"The method must be one of {', '.join(METHODS)}.")
        path = fields.get("path", "/").strip() or "/"
        if (not path.startswith("/") or len(path) > MAX_PATH_CHARS or not path.isascii()
                or any(c.isspace() or not c.isprintable() for c in path)):
            raise ConsoleInputError("The path must start with / and hold no spaces "
                                    "(e.g. /predict).")
        raw = fields.get("body", "")
        body: str | None = None
        if raw.strip():
            try:
                json.loads(raw)
            except ValueError as exc:
                raise ConsoleInputError(f"The body is not JSON: {exc}.") from None
            body = raw
        return ConsoleRequest("request", method=method, path=path, body=body, typed=raw)
    return ConsoleRequest("run")


def parse_arguments(text: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``1, [2, 3], key="x"`` as positional and keyword arguments, literals only.

    Python literals and JSON both work (``true``, ``null`` read as ``True``, ``None``); the
    text is parsed, never run: names, calls, operators and the like are refused.
    """
    try:
        tree = ast.parse(f"f({text}\n)", mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        why = exc.msg if isinstance(exc, SyntaxError) else "too deeply nested or too large"
        raise ConsoleInputError(f"The arguments could not be read: {why}. Write them as in "
                                'a call: 3, [1, 2], name="x".') from None
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id == "f"):
        raise ConsoleInputError("Write the arguments as in a call: 3, [1, 2], name=\"x\".")
    args = []
    for node in call.args:
        if isinstance(node, ast.Starred):
            raise ConsoleInputError("*arguments can't be unpacked here; write each one.")
        args.append(_literal(node, 0))
    kwargs: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise ConsoleInputError("**arguments can't be unpacked here; write each one.")
        kwargs[keyword.arg] = _literal(keyword.value, 0)
    try:
        json.dumps([args, kwargs], allow_nan=False)
    except ValueError:
        raise ConsoleInputError("Infinite or NaN numbers can't be passed; write them as "
                                '{"$float": "inf"}.') from None
    return tuple(args), kwargs


_NAMES = {"true": True, "false": False, "null": None, "True": True, "False": False,
          "None": None}


def _literal(node: ast.expr, depth: int) -> Any:
    """One literal as JSON data (lists for tuples); anything else is refused."""
    if depth > MAX_NESTING:
        raise ConsoleInputError(f"The arguments nest deeper than {MAX_NESTING} levels.")
    if isinstance(node, ast.Constant) and (node.value is None
                                           or isinstance(node.value, bool | int | float | str)):
        return node.value
    if isinstance(node, ast.Name) and node.id in _NAMES:
        return _NAMES[node.id]
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd)
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, int | float)
            and not isinstance(node.operand.value, bool)):
        number = node.operand.value
        return -number if isinstance(node.op, ast.USub) else number
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(item, depth + 1) for item in node.elts]
    if isinstance(node, ast.Dict):
        result: dict[str, Any] = {}
        for key, value in zip(node.keys, node.values, strict=True):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                raise ConsoleInputError("Dictionary keys must be strings.")
            result[key.value] = _literal(value, depth + 1)
        return result
    shown = ast.unparse(node)
    shown = shown if len(shown) <= 40 else shown[:40] + "…"
    raise ConsoleInputError(f"{shown} is not a literal: only numbers, strings, true/false, "
                            "null/None, lists and dictionaries can be passed.")
