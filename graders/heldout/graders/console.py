"""The run console: the candidate's code run once on the public data or an input they typed.

A console run is a public run of another mode: the same staging, the same guarded sandbox
(nothing from ``hidden/`` or ``solutions/`` can be mounted) and the same limits as the public
checks, but instead of checks it answers one question, per kind:

- ``function``: one call of a function of the entrypoint, with the arguments typed;
- ``sql``: one query against the public tables, the first rows back as a grid;
- ``deployment``: one request to the candidate's service, started as for grading;
- ``model_training``, ``feature_engineering``, ``notebook``: the entrypoint run on the public
  data, its output shown.

What the candidate typed is parsed here, on the host, as data only (never evaluated); what
the sandbox sends back is untrusted and read under caps like any run's output.
"""

from __future__ import annotations

import ast
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from heldout.graders.errors import GraderError
from heldout.graders.result import Evaluation, RunStats
from heldout.sandbox.spec import TMP, JobSpec, RunResult

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle
    from heldout.sandbox.backend import Sandbox

Mode = Literal["call", "sql", "request", "run"]
# The key of Evaluation.artefacts holding what the console shows beside the output.
CONSOLE_ARTEFACT = "console.json"
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


# --- running --------------------------------------------------------------------------

def run_console(bundle: Bundle, workspace: Path, sandbox: Sandbox,
                request: ConsoleRequest) -> Evaluation:
    """Run the request on the public data; what it showed is ``artefacts[CONSOLE_ARTEFACT]``.

    The evaluation has no checks and no score that means anything (0): it is finished or
    not (``internal_error``, as for public checks). ``SandboxError`` and ``GraderError``
    propagate, as from a kind's ``grade``.
    """
    mode = mode_of(bundle.kind)
    if request.mode != mode:
        raise GraderError(f"a {request.mode} console request for a {bundle.kind} challenge")
    labels = {"heldout.challenge": bundle.slug, "heldout.split": "public",
              "heldout.phase": "console"}
    result: RunResult | None
    with tempfile.TemporaryDirectory(prefix="heldout-console-") as tmp:
        root = Path(tmp)
        if mode == "sql":
            from heldout.graders.kinds.sql.console import run_query

            result, shown = run_query(bundle, request.query, sandbox, root, labels)
        elif mode == "call":
            from heldout.graders.kinds.function.console import run_call

            result, shown = run_call(bundle, workspace, request, sandbox, root, labels)
        elif mode == "request":
            from heldout.graders.kinds.deployment.console import run_request

            result, shown = run_request(bundle, workspace, request, sandbox, root, labels)
        elif bundle.kind == "notebook":
            from heldout.graders.kinds.notebook.console import run_notebook

            result, shown = run_notebook(bundle, workspace, sandbox, root, labels)
        else:
            result, shown = run_script(bundle, workspace, sandbox, root, labels)
    return finished(bundle, result, shown)


def finished(bundle: Bundle, result: RunResult | None, shown: Mapping[str, Any]) -> Evaluation:
    data = json.dumps(dict(shown), allow_nan=False, default=str).encode("utf-8")
    return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded", score=0,
                      run=None if result is None else RunStats.from_result(result),
                      split="public", artefacts={CONSOLE_ARTEFACT: data})


def run_script(bundle: Bundle, workspace: Path, sandbox: Sandbox, root: Path,
               labels: Mapping[str, str]) -> tuple[RunResult, dict[str, Any]]:
    """``python ENTRYPOINT`` on the public data, as the grader starts a training script."""
    entrypoint = bundle.submission.entrypoint
    if not entrypoint.endswith(".py"):
        raise GraderError(f"the console can't run {entrypoint}")
    command = ("python", entrypoint)
    output = root / "output"
    output.mkdir()
    result = sandbox.run(JobSpec(command=command, workspace=workspace, data=bundle.public_dir,
                                 limits=bundle.limits, env={"HOME": TMP, "TMPDIR": TMP},
                                 labels=dict(labels)), output)
    return result, {"mode": "run", "command": " ".join(command),
                    "what": f"python {entrypoint} in /workspace, with the public data in /data "
                            "and /output writable; nothing is scored",
                    "outputs": sorted(item.name for item in result.outputs)[:50]}


def read_console(evaluation_artefacts: Mapping[str, bytes]) -> dict[str, Any] | None:
    """What a console run showed, from its evaluation's artefacts (None if not a console run)."""
    data = evaluation_artefacts.get(CONSOLE_ARTEFACT)
    if data is None:
        return None
    shown = json.loads(data)
    return shown if isinstance(shown, dict) else None


__all__ = ["CONSOLE_ARTEFACT", "MODES", "ConsoleInputError", "ConsoleRequest",
           "parse_arguments", "parse_request", "run_console"]
