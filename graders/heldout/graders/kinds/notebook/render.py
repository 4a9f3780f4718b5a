"""The notebook kind's report part: the executed notebook as HTML (nbconvert's basic
template), sanitised, cached by the artefact's hash."""

from __future__ import annotations

import base64
import html as html_text
import json
import os
import re
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heldout.graders.kinds.parts import KeptArtefact

# Bump when the policy below changes: cached renderings made under the old one are ignored.
POLICY_VERSION = 2
MAX_NOTEBOOK_BYTES = 16 * 1024 * 1024

# What candidate output may contain once sanitised: text, tables, lists, images. No
# script, style, form, frame, object, SVG or MathML element survives (with its content).
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp",
    "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "u", "ul", "var",
})
DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg",
    "math", "template", "noscript", "textarea", "select", "button", "form", "input", "link",
    "meta", "base", "audio", "video", "source", "track", "canvas", "title", "head",
})
ALLOWED_ATTRIBUTES = {
    "*": {"class", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}
# Images inline only: a data: URI of a raster or SVG image (an SVG shown as an image runs
# no script and loads nothing). Links leave for the web or mail, never to this site.
IMAGE_DATA = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]+")
LINK = re.compile(r"(https?://|mailto:)\S+", re.IGNORECASE)
# Classes of nbconvert's structure and pandas' tables, kept renamed with an ``nb-`` prefix
# that none of the page's own classes has: candidate output can't dress up as the report.
CLASSES = frozenset({
    "cell", "code_cell", "text_cell", "input", "inner_cell", "input_area", "prompt",
    "input_prompt", "output_prompt", "output_wrapper", "output", "output_area",
    "output_subarea", "output_stream", "output_stdout", "output_stderr", "output_text",
    "output_error", "output_html", "output_png", "output_jpeg", "output_svg",
    "output_execute_result", "output_markdown", "rendered_html", "text_cell_render",
    "highlight", "dataframe",
})
ANSI_CLASS = re.compile(r"ansi-(black|red|green|yellow|blue|magenta|cyan|white)(-intense)?-(fg|bg)"
                        r"|ansi-(bold|underline)")
CLASS_PREFIX = "nb-"
# Outputs never shown: scripts and widget state run nothing here and would only be noise.
DROPPED_MIME = ("application/javascript", "text/javascript",
                "application/vnd.jupyter.widget-view+json",
                "application/vnd.jupyter.widget-state+json")


@dataclass(frozen=True)
class RenderedNotebook:
    """The sanitised HTML of one executed notebook, or why there is none."""

    html: str
    cells: int
    problem: str | None = None


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        kept = [CLASS_PREFIX + name for name in value.split()
                if name in CLASSES or ANSI_CLASS.fullmatch(name)]
        return " ".join(kept) or None
    if tag == "img" and attribute == "src":
        return value if IMAGE_DATA.fullmatch(value) else None
    if tag == "a" and attribute == "href":
        return value if LINK.fullmatch(value) else None
    if attribute in {"width", "height", "colspan", "rowspan", "start"}:
        return value if value.isdigit() and len(value) <= 5 else None
    return value


def sanitise(html: str) -> str:
    """Candidate-controlled HTML reduced to the allow-list above (nh3)."""
    import nh3

    return nh3.clean(
        html, tags=set(ALLOWED_TAGS), clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_keep_attribute, url_schemes={"http", "https", "mailto", "data"},
        url_relative="deny", strip_comments=True, link_rel="noopener noreferrer nofollow",
        # A link out opens apart from the report, never in the reviewer's own tab.
        set_tag_attribute_values={"a": {"target": "_blank"}})


def _prepare(notebook: Any) -> None:
    """Outputs made renderable without trusting them: no script outputs, SVG as an image."""
    metadata = notebook.get("metadata", {})
    metadata.pop("widgets", None)
    language = metadata.get("language_info")
    if isinstance(language, dict) and language.get("pygments_lexer") == "ipython3":
        # The IPython lexer isn't installed on the platform; plain Python reads the same.
        language["pygments_lexer"] = "python3"
    for cell in notebook.get("cells", []):
        cell.get("metadata", {}).pop("attachments", None)
        cell.pop("attachments", None)
        for output in cell.get("outputs", []):
            data = output.get("data")
            if not isinstance(data, dict):
                continue
            for mime in DROPPED_MIME:
                data.pop(mime, None)
            svg = data.pop("image/svg+xml", None)
            if svg is not None and "text/html" not in data and "image/png" not in data:
                text = "".join(svg) if isinstance(svg, list) else str(svg)
                encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
                data["text/html"] = f'<img alt="SVG output" src="data:image/svg+xml;base64,{encoded}">'


def render_html(data: bytes) -> RenderedNotebook:
    """Render an executed notebook with nbconvert's basic template and sanitise the result."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        return RenderedNotebook("", 0, f"the notebook is over {MAX_NOTEBOOK_BYTES // 2**20} MB")
    import nbformat
    from nbconvert import HTMLExporter

    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as exc:  # nbformat raises JSON, schema and its own reader errors
        return RenderedNotebook("", 0, f"not a readable notebook: {' '.join(str(exc).split())[:200]}")
    _prepare(notebook)
    exporter = HTMLExporter(template_name="basic", exclude_anchor_links=True)  # type: ignore[no-untyped-call]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbconvert's own notes about missing lexers
            body, _ = exporter.from_notebook_node(notebook)
    except Exception as exc:  # a malformed cell the schema let through
        return RenderedNotebook("", 0, f"could not be rendered: {type(exc).__name__}: {exc}"[:300])
    return RenderedNotebook(sanitise(body), len(notebook.cells))


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
BASE64 = re.compile(r"[A-Za-z0-9+/=\s]+")


def _joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _output_html(output: Any) -> str:
    """One output as HTML, before sanitising: text escaped, images inline, HTML as given."""
    kind = output.get("output_type")
    if kind == "stream":
        stream = "output_stderr" if output.get("name") == "stderr" else "output_stdout"
        return f'<pre class="{stream}">{html_text.escape(_joined(output.get("text", "")))}</pre>'
    if kind == "error":
        trace = ANSI_ESCAPE.sub("", "\n".join(_joined(line) for line in output.get("traceback", [])))
        shown = trace or f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
        return f'<pre class="output_error">{html_text.escape(shown)}</pre>'
    data = output.get("data")
    if not isinstance(data, dict):
        return ""
    for mime in ("image/png", "image/jpeg"):
        encoded = _joined(data.get(mime, ""))
        if encoded and BASE64.fullmatch(encoded):
            return f'<img alt="Figure" src="data:{mime};base64,{"".join(encoded.split())}">'
    if "text/html" in data:
        return f'<div class="output_html">{_joined(data["text/html"])}</div>'
    for mime in ("text/markdown", "text/plain"):
        if mime in data:
            return f'<pre class="output_text">{html_text.escape(_joined(data[mime]))}</pre>'
    return ""


def cell_outputs(data: bytes) -> dict[str, str]:
    """Each code cell's outputs as sanitised HTML (the report's policy), keyed by the cell's
    id, or by its position where the notebook has no ids: for the workspace's cell editor.
    An unreadable or oversized notebook has none."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        return {}
    import nbformat

    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception:  # nbformat raises JSON, schema and its own reader errors
        return {}
    _prepare(notebook)
    shown: dict[str, str] = {}
    for index, cell in enumerate(notebook.get("cells", [])):
        outputs = cell.get("outputs") or []
        if cell.get("cell_type") != "code" or not outputs:
            continue
        body = sanitise("".join(_output_html(o) for o in outputs if isinstance(o, dict)))
        if body:
            shown[str(cell.get("id") or index)] = body
    return shown


def render_cached(digest: str, data_of: Callable[[], bytes], cache_dir: Path) -> RenderedNotebook:
    """The rendering of blob ``digest``, made once per policy and kept in ``cache_dir``.

    ``data_of`` is called (with no argument) for the notebook's bytes on a cache miss.
    """
    cached = cache_dir / f"{digest}.v{POLICY_VERSION}.json"
    try:
        raw = json.loads(cached.read_text(encoding="utf-8"))
        return RenderedNotebook(str(raw["html"]), int(raw["cells"]), raw.get("problem"))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    rendered = render_html(data_of())
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=cache_dir, prefix=".render-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"html": rendered.html, "cells": rendered.cells,
                       "problem": rendered.problem}, handle)
        os.replace(tmp_name, cached)
    except OSError:
        Path(tmp_name).unlink(missing_ok=True)
    return rendered


def read_executed(artefact: KeptArtefact) -> RenderedNotebook:
    """The kept executed notebook, rendered once and then read from ``artefact.cache_dir``."""
    return render_cached(artefact.sha256, artefact.data, artefact.cache_dir)
