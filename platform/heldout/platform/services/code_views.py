"""One submission's files as the report shows them: highlighted by Pygments, and diffed
against the starter of the very version it was made for (every line escaped)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from markupsafe import Markup, escape

from heldout.graders.errors import GraderError
from heldout.platform.blobs import BlobMissing, BlobStore, BundleVersionMissing
from heldout.platform.models import Submission
from heldout.platform.services.catalogue import get_bundles

MAX_SHOWN_FILE_BYTES = 200_000
MAX_STARTER_BYTES = 200_000


@dataclass(frozen=True)
class ShownFile:
    name: str
    size: int
    text: str | None
    note: str = ""


def _shown_files(submission: Submission, blobs: BlobStore) -> tuple[ShownFile, ...]:
    shown = []
    for item in submission.files:
        if item.size > MAX_SHOWN_FILE_BYTES:
            shown.append(ShownFile(item.name, item.size, None, "too large to show here"))
            continue
        try:
            data = blobs.get(item.sha256)
        except BlobMissing as exc:
            shown.append(ShownFile(item.name, item.size, None, str(exc)))
            continue
        try:
            shown.append(ShownFile(item.name, item.size, data.decode("utf-8")))
        except UnicodeDecodeError:
            shown.append(ShownFile(item.name, item.size, None, "binary file"))
    return tuple(shown)


@dataclass(frozen=True)
class CodeView:
    """One submitted file as the report shows it: highlighted, and diffed with the starter."""

    name: str
    size: int
    highlighted: Markup | None
    diff: Markup | None  # None: nothing to diff (binary, too large, or no starter file)
    note: str = ""
    diff_note: str = ""
    text: str | None = None

    @property
    def changed_lines(self) -> int:
        return 0 if self.diff is None else str(self.diff).count('class="add"') + \
            str(self.diff).count('class="del"')


def highlight(name: str, text: str) -> Markup:
    """``text`` highlighted for its file type by Pygments (which escapes every token)."""
    from pygments import highlight as render
    from pygments.formatters import HtmlFormatter
    from pygments.lexer import Lexer
    from pygments.lexers import TextLexer, get_lexer_for_filename
    from pygments.util import ClassNotFound

    lexer: Lexer
    try:
        lexer = get_lexer_for_filename(name, stripnl=False, ensurenl=True)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False)
    html = render(text, lexer, HtmlFormatter(cssclass="highlight", wrapcode=True))
    return Markup(html)  # noqa: S704 - Pygments escapes the text it formats


def diff_against(starter: str | None, text: str, name: str) -> tuple[Markup | None, str]:
    """A unified diff of the starter's ``name`` to the submitted one, each line escaped."""
    if starter is None:
        return None, "not in the starter: a new file"
    if starter == text:
        return None, "unchanged from the starter"
    lines = difflib.unified_diff(starter.splitlines(), text.splitlines(),
                                 f"starter/{name}", name, lineterm="", n=3)
    out = []
    for line in lines:
        if line.startswith(("+++", "---")):
            cls = "file"
        elif line.startswith("@@"):
            cls = "hunk"
        elif line.startswith("+"):
            cls = "add"
        elif line.startswith("-"):
            cls = "del"
        else:
            cls = "ctx"
        out.append(f'<span class="{cls}">{escape(line)}</span>')
    return Markup('<pre class="diff">' + "\n".join(out) + "</pre>"), ""  # noqa: S704


def _starter_files(slug: str, version: str) -> dict[str, str] | None:
    """The starter's text files of exactly ``version`` (None if that version is gone)."""
    try:
        bundle = get_bundles().at_version(slug, version)
    except (BundleVersionMissing, GraderError):
        return None
    files: dict[str, str] = {}
    root = bundle.starter_dir
    if not root.is_dir():
        return files
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_STARTER_BYTES:
            try:
                files[path.relative_to(root).as_posix()] = path.read_text("utf-8")
            except UnicodeDecodeError:
                continue
    return files


def code_views(submission: Submission, blobs: BlobStore) -> tuple[CodeView, ...]:
    starter = _starter_files(submission.challenge_slug, submission.challenge_version)
    views = []
    for shown in _shown_files(submission, blobs):
        if shown.text is None:
            views.append(CodeView(shown.name, shown.size, None, None, shown.note))
            continue
        if starter is None:
            diff, note = None, "the starter of this version is no longer stored"
        else:
            diff, note = diff_against(starter.get(shown.name), shown.text, shown.name)
        views.append(CodeView(shown.name, shown.size, highlight(shown.name, shown.text), diff,
                              diff_note=note, text=shown.text))
    return tuple(views)
