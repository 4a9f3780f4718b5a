"""Disguised copies of a submission: the edits a candidate makes to hide a copy.

Each edit keeps what the code does (near enough) and changes how it reads: identifiers
renamed, functions reordered, comments and blank lines stripped, reformatted, constants
changed. They make the labelled set of the similarity tests and the submissions of
``heldout bench similarity``.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import keyword
import re
import tokenize
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath

from pygments.lexers import SqlLexer
from pygments.token import Comment, Keyword, Name, Number, Text

Edit = Callable[[str], str]
WORDS = ("amount", "bucket", "cursor", "delta", "entry", "factor", "group", "holder",
         "item", "joint", "knot", "level", "marker", "node", "offset", "piece", "quota",
         "record", "slot", "tally", "unit", "value", "weight", "yield_")
SQL_CLAUSES = ("SELECT", "FROM", "WHERE", "GROUP", "ORDER", "JOIN", "LEFT", "WITH", "QUALIFY")


def _new_name(index: int, salt: int) -> str:
    return f"{WORDS[(index + salt) % len(WORDS)]}_{index}"


# --- Python -------------------------------------------------------------------------------

def _tokens(code: str) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(code).readline))


def _replace_tokens(code: str, replace: Callable[[tokenize.TokenInfo, str], str | None]) -> str:
    """``code`` with each token for which ``replace`` returns text swapped for that text."""
    lines = code.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []
    previous = ""
    for token in _tokens(code):
        new = replace(token, previous)
        if new is not None and token.start[0] == token.end[0]:
            edits.append((token.start[0], token.start[1], token.end[1], new))
        if token.type not in (tokenize.NL, tokenize.COMMENT):
            previous = token.string
    for row, start, end, new in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + new + line[end:]
    return "".join(lines)


def _bound_names(tree: ast.AST) -> list[str]:
    """Names the code binds itself (variables, parameters, nested functions), in order."""
    found: dict[str, None] = {}
    top_level = {id(node) for node in getattr(tree, "body", [])}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found[node.id] = None
        elif isinstance(node, ast.arg) and node.arg not in ("self", "cls"):
            found[node.arg] = None
        elif isinstance(node, ast.FunctionDef | ast.ClassDef) and id(node) not in top_level:
            found[node.name] = None
    # Top-level functions and classes keep their names: the challenge calls them.
    return [name for name in found if not hasattr(builtins, name)]


def rename_python(code: str, salt: int = 0) -> str:
    names = _bound_names(ast.parse(code))
    mapping = {name: _new_name(i, salt) for i, name in enumerate(names)}

    def swap(token: tokenize.TokenInfo, previous: str) -> str | None:
        if token.type == tokenize.NAME and previous != "." and token.string in mapping:
            return mapping[token.string]
        return None

    return _replace_tokens(code, swap)


def _statement_spans(tree: ast.Module) -> list[tuple[int, int, bool]]:
    spans = []
    for node in tree.body:
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        spans.append((first, node.end_lineno or node.lineno,
                      isinstance(node, ast.FunctionDef | ast.ClassDef)))
    return spans


def reorder_python(code: str, salt: int = 0) -> str:
    """Top-level functions and classes in another order (rotated by ``salt`` + 1)."""
    tree = ast.parse(code)
    lines = code.splitlines(keepends=True)
    spans = _statement_spans(tree)
    defs = [(first, last) for first, last, is_def in spans if is_def]
    if len(defs) < 2:
        return code
    shift = salt % (len(defs) - 1) + 1
    moved = defs[shift:] + defs[:shift]
    replacement = {old[0]: new for old, new in zip(defs, moved, strict=True)}
    ends = {first: last for first, last in defs}
    out: list[str] = []
    row = 1
    while row <= len(lines):
        if row in replacement:
            first, last = replacement[row]
            block = lines[first - 1:last]
            if block and not block[-1].endswith("\n"):
                block[-1] += "\n"
            out.extend(block)
            row = ends[row] + 1
        else:
            out.append(lines[row - 1])
            row += 1
    return "".join(out)


def _docstring_rows(tree: ast.AST) -> set[int]:
    rows: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            rows.update(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    return rows


def strip_python(code: str, salt: int = 0) -> str:
    """Comments, docstrings and blank lines gone."""
    without = _replace_tokens(code, lambda t, _: "" if t.type == tokenize.COMMENT else None)
    docstrings = _docstring_rows(ast.parse(code))
    kept = [line.rstrip() for row, line in enumerate(without.splitlines(), start=1)
            if row not in docstrings and line.strip()]
    return "\n".join(kept) + "\n"


def reformat_python(code: str, salt: int = 0) -> str:
    """Laid out again from the syntax tree: quotes, spacing and line breaks of its own."""
    return ast.unparse(ast.parse(code)) + "\n"


def _changed_number(text: str, salt: int) -> str:
    try:
        value = ast.literal_eval(text.replace("_", ""))
    except (ValueError, SyntaxError):
        return text
    if isinstance(value, bool) or not isinstance(value, int | float):
        return text
    if isinstance(value, int):
        return str(value + 1 + salt % 3)
    return f"{value * (1.1 + 0.1 * (salt % 3)):.6g}"


def change_python_constants(code: str, salt: int = 0) -> str:
    return _replace_tokens(code, lambda t, _: _changed_number(t.string, salt)
                           if t.type == tokenize.NUMBER else None)


# --- SQL ----------------------------------------------------------------------------------

def _sql_tokens(code: str) -> list[tuple[object, str]]:
    return [(kind, value) for _, kind, value in SqlLexer().get_tokens_unprocessed(code)]


def rename_sql(code: str, salt: int = 0) -> str:
    """Common table expressions and aliases renamed (``name AS (`` and ``AS name``)."""
    defined = re.findall(r"\b(\w+)\s+AS\s*\(", code, flags=re.IGNORECASE)
    defined += re.findall(r"\bAS\s+(\w+)\b(?!\s*\()", code, flags=re.IGNORECASE)
    defined += re.findall(r"\b(?:FROM|JOIN)\s+\w+\s+(?!AS\b|ON\b|USING\b|JOIN\b|LEFT\b|WHERE\b)(\w+)",
                          code, flags=re.IGNORECASE)
    names = [n for n in dict.fromkeys(defined) if not keyword.iskeyword(n) and n.upper() != n]
    mapping = {name: _new_name(i, salt) for i, name in enumerate(names)}
    return "".join(mapping.get(value, value) if kind in Name else value
                   for kind, value in _sql_tokens(code))


def _is_marker(value: str) -> bool:
    # ``-- name: …`` lines split a file into the challenge's queries: a copy keeps them.
    return value.startswith("-- name:")


def strip_sql(code: str, salt: int = 0) -> str:
    text = "".join(value if kind not in Comment or _is_marker(value) else
                   "\n" if value.endswith("\n") else "" for kind, value in _sql_tokens(code))
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip()) + "\n"


def reformat_sql(code: str, salt: int = 0) -> str:
    """Keywords in lower case, whitespace collapsed, a line per clause."""
    out: list[str] = []
    for kind, value in _sql_tokens(code):
        if kind in Comment:
            start = "\n" if out and not out[-1].endswith("\n") else ""
            out.append(start + value.rstrip("\n") + "\n")
        elif kind in Text:
            if out and not out[-1].endswith((" ", "\n")):
                out.append(" ")
        elif kind in Keyword and value.upper() in SQL_CLAUSES:
            out.append(("\n" if out and not out[-1].endswith("\n") else "") + value.lower())
        else:
            out.append(value.lower() if kind in Keyword else value)
    return "".join(out).strip() + "\n"


def change_sql_constants(code: str, salt: int = 0) -> str:
    return "".join(_changed_number(value, salt) if kind in Number else value
                   for kind, value in _sql_tokens(code))


# --- Files --------------------------------------------------------------------------------

PYTHON_EDITS: Mapping[str, Callable[[str, int], str]] = {
    "renamed": rename_python, "reordered": reorder_python, "stripped": strip_python,
    "reformatted": reformat_python, "constants": change_python_constants,
}
SQL_EDITS: Mapping[str, Callable[[str, int], str]] = {
    "renamed": rename_sql, "reordered": lambda code, salt: code, "stripped": strip_sql,
    "reformatted": reformat_sql, "constants": change_sql_constants,
}
DISGUISES = (*PYTHON_EDITS, "all")


def _edit_text(text: str, suffix: str, disguise: str, salt: int) -> str:
    edits = SQL_EDITS if suffix == ".sql" else PYTHON_EDITS
    names = list(edits) if disguise == "all" else [disguise]
    for name in names:
        text = edits[name](text, salt)
    return text


def _edit_notebook(data: bytes, disguise: str, salt: int) -> bytes:
    notebook = json.loads(data)
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code" or cell.get("metadata", {}).get("nbgrader", {}).get(
                "locked"):
            continue  # locked cells are restored from the starter anyway
        source = cell["source"]
        text = "".join(source) if isinstance(source, list) else source
        try:
            cell["source"] = _edit_text(text, ".py", disguise, salt).rstrip("\n")
        except SyntaxError:  # a cell of notebook magics: left as it is
            continue
    return json.dumps(notebook, indent=1).encode()


def disguise_files(files: Mapping[str, bytes], disguise: str, salt: int = 0) -> dict[str, bytes]:
    """``files`` (name → content) with every Python, notebook and SQL file disguised."""
    out: dict[str, bytes] = {}
    for name, data in files.items():
        suffix = PurePosixPath(name).suffix.lower()
        if suffix == ".ipynb":
            out[name] = _edit_notebook(data, disguise, salt)
        elif suffix in (".py", ".sql"):
            out[name] = _edit_text(data.decode(), suffix, disguise, salt).encode()
        else:
            out[name] = data
    return out
