"""Similarity between submissions of one challenge: winnowed fingerprints of normalised tokens.

Each submission's code (Python files, notebooks' code cells, SQL) is tokenised by pygments;
names become ``V``, numbers ``N`` and strings ``S``, comments, docstrings and layout vanish,
so renaming, reformatting, stripping comments or changing constants changes nothing. Every
run of ``K`` tokens is hashed and winnowing keeps the smallest hash of each ``WINDOW``
consecutive ones (a match of ``K + WINDOW - 1`` tokens is always seen). The fingerprints of
the bundle's own code (starter and public files) are removed first: two candidates who hand
in the starter share nothing. A pair's score is the share of fingerprints they have in
common (``2·|A∩B| / (|A|+|B|)``); reordering functions moves fingerprints, never removes them.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from pygments.lexer import Lexer
from pygments.lexers import PythonLexer, SqlLexer
from pygments.token import Comment, Keyword, Name, Number, Operator, String, Text, _TokenType

from heldout.graders.bundle_types import SKIPPED_DIRS, Bundle

if TYPE_CHECKING:
    import numpy as np

# Tokens per hashed run, and runs per winnowing window (tuned on the labelled set in
# tests/graders/test_similarity_labelled.py).
K = 12
WINDOW = 4
# A pair at or above this score is flagged for review.
THRESHOLD = 0.5
# What a submission's file may weigh to be read (a bigger one is left out, named).
MAX_FILE_BYTES = 512 * 1024
LANGUAGES = {".py": "python", ".sql": "sql", ".ipynb": "notebook"}


@dataclass(frozen=True)
class CodeUnit:
    """One piece of compared code: a file, or one code cell of a notebook."""

    name: str
    text: str
    language: str  # python | sql

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()


@dataclass(frozen=True)
class Mark:
    """A kept fingerprint: its hash and where its tokens lie (unit, token, first/last line)."""

    hash: int
    unit: int
    token: int
    first_line: int
    last_line: int


@dataclass(frozen=True)
class Fingerprints:
    """A submission's code and its fingerprints, the bundle's own removed."""

    units: tuple[CodeUnit, ...]
    marks: tuple[Mark, ...]
    hashes: frozenset[int]


@dataclass(frozen=True)
class PairScore:
    """Two submissions (by index) and how much of their code they share."""

    a: int
    b: int
    score: float  # 2·shared / (|a| + |b|), 0..1
    share_a: float  # of a's fingerprints, the share found in b
    share_b: float
    flagged: bool


@dataclass(frozen=True)
class Fragment:
    """A stretch of code of one submission matching a stretch of the other's."""

    a_unit: str
    a_first: int  # lines, 1-based, inclusive
    a_last: int
    a_text: str
    b_unit: str
    b_first: int
    b_last: int
    b_text: str


def _lexer(language: str) -> Lexer:
    return SqlLexer() if language == "sql" else PythonLexer()


def _notebook_cells(name: str, data: bytes) -> list[CodeUnit]:
    try:
        notebook = json.loads(data.decode("utf-8", errors="replace"))
    except ValueError:
        return []
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    units = []
    for number, cell in enumerate(cells if isinstance(cells, list) else [], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(str(s) for s in source) if isinstance(source, list) else str(source)
        units.append(CodeUnit(f"{name} [cell {number}]", text, "python"))
    return units


def code_units(files: Mapping[str, bytes]) -> list[CodeUnit]:
    """The code among ``files`` (name → content), in name order; other files are skipped."""
    units: list[CodeUnit] = []
    for name in sorted(files):
        language = LANGUAGES.get(PurePosixPath(name).suffix.lower())
        data = files[name]
        if language is None or len(data) > MAX_FILE_BYTES:
            continue
        if language == "notebook":
            units.extend(_notebook_cells(name, data))
        else:
            units.append(CodeUnit(name, data.decode("utf-8", errors="replace"), language))
    return units


def _read_tree(root: Path) -> dict[str, bytes]:
    """Regular files under ``root`` by relative path; links and skipped directories left out."""
    found: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames
                             if d not in SKIPPED_DIRS and not (here / d).is_symlink())
        for name in sorted(filenames):
            path = here / name
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode) and info.st_size <= MAX_FILE_BYTES:
                found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def bundle_files(bundle: Bundle) -> dict[str, bytes]:
    """The bundle's own files a candidate may hand back: its starter and public code."""
    files: dict[str, bytes] = {}
    for directory in (bundle.starter_dir, bundle.public_dir):
        if directory.is_dir():
            for name, data in _read_tree(directory).items():
                if PurePosixPath(name).suffix.lower() in LANGUAGES:
                    files[f"{directory.name}/{name}"] = data
    return files


def submission_files(bundle: Bundle, path: Path) -> dict[str, bytes]:
    """A submission on disk: a directory's files, or one file taken as the entrypoint.

    A missing path raises ``FileNotFoundError``.
    """
    if path.is_dir():
        return {name: data for name, data in _read_tree(path).items()
                if bundle.submission.accepts(name)}
    return {bundle.submission.entrypoint: path.read_bytes()}


def normalised_tokens(unit: CodeUnit) -> list[tuple[str, int]]:
    """The unit's tokens as (normalised text, line), layout, comments and docstrings dropped."""
    newlines = [i for i, char in enumerate(unit.text) if char == "\n"]
    tokens: list[tuple[str, int]] = []
    previous = ""
    for offset, kind, value in _lexer(unit.language).get_tokens_unprocessed(unit.text):
        word = _normalise(kind, value, unit.language, previous)
        if word is None:
            continue
        if word == "S" and previous == "S":  # one string split into several tokens
            continue
        tokens.append((word, bisect.bisect_right(newlines, offset - 1) + 1))
        previous = word
    return tokens


def _normalise(kind: _TokenType, value: str, language: str, previous: str) -> str | None:
    if kind in Text or kind in Comment or kind in String.Doc or not value.strip():
        return None
    if kind in String:
        return "S"
    if kind in Number:
        return "N"
    if language == "sql":
        if kind in Keyword or kind in Name.Builtin:
            return value.upper()
        return "V" if kind in Name else value
    if kind in Name.Builtin or kind in Keyword or kind in Operator or kind not in Name:
        return value
    # A name after a dot is an attribute (a library's ``np.mean``): kept, it tells code apart.
    return value if previous == "." else "V"


def _kgram_hash(words: Sequence[str]) -> int:
    digest = hashlib.blake2b("\x1f".join(words).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1  # fits a signed 64-bit integer


def unit_marks(unit: CodeUnit, index: int, k: int = K, window: int = WINDOW) -> list[Mark]:
    """The winnowed fingerprints of one unit (robust winnowing: rightmost minimum)."""
    tokens = normalised_tokens(unit)
    words = [word for word, _ in tokens]
    hashes = [_kgram_hash(words[i:i + k]) for i in range(len(words) - k + 1)]
    if not hashes:
        return []
    chosen: list[int] = []
    for start in range(max(len(hashes) - window + 1, 1)):
        block = hashes[start:start + window]
        smallest = min(block)
        at = start + max(i for i, h in enumerate(block) if h == smallest)
        if not chosen or chosen[-1] != at:
            chosen.append(at)
    return [Mark(hashes[at], index, at, tokens[at][1], tokens[at + k - 1][1]) for at in chosen]


def fingerprint(units: Iterable[CodeUnit], boilerplate: frozenset[int] = frozenset()
                ) -> Fingerprints:
    """Fingerprints of a submission's code, leaving out those of ``boilerplate``."""
    kept_units = tuple(units)
    marks = [mark for index, unit in enumerate(kept_units)
             for mark in unit_marks(unit, index) if mark.hash not in boilerplate]
    return Fingerprints(kept_units, tuple(marks), frozenset(m.hash for m in marks))


def bundle_boilerplate(bundle: Bundle) -> frozenset[int]:
    """The fingerprints of the bundle's own code: never evidence of copying."""
    return fingerprint(code_units(bundle_files(bundle))).hashes


def own_files(files: Mapping[str, bytes], bundle_own: Mapping[str, bytes]) -> dict[str, bytes]:
    """``files`` less those that are byte for byte one of the bundle's own."""
    known = {hashlib.sha256(data).digest() for data in bundle_own.values()}
    return {name: data for name, data in files.items()
            if hashlib.sha256(data).digest() not in known}


def fingerprint_submission(files: Mapping[str, bytes], bundle_own: Mapping[str, bytes],
                           boilerplate: frozenset[int]) -> Fingerprints:
    """What is compared of one submission: its code, the bundle's own files and code removed."""
    return fingerprint(code_units(own_files(files, bundle_own)), boilerplate)


def shared_counts(prints: Sequence[Fingerprints]) -> np.ndarray:
    """Fingerprints shared by every two submissions, as an n-by-n matrix (one sparse product)."""
    # Imported here: the web app reads stored pairs and never needs them.
    import numpy as np
    from scipy.sparse import csr_matrix

    columns: dict[int, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for row, item in enumerate(prints):
        for value in item.hashes:
            rows.append(row)
            cols.append(columns.setdefault(value, len(columns)))
    matrix = csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)),
                        shape=(len(prints), max(len(columns), 1)))
    return np.asarray((matrix @ matrix.T).toarray())


def score_pair(a: int, b: int, shared: int, size_a: int, size_b: int,
               threshold: float = THRESHOLD) -> PairScore:
    total = size_a + size_b
    score = 2 * shared / total if total else 0.0
    return PairScore(a, b, round(score, 4), round(shared / size_a, 4) if size_a else 0.0,
                     round(shared / size_b, 4) if size_b else 0.0, score >= threshold)


def compare_all(prints: Sequence[Fingerprints], threshold: float = THRESHOLD) -> list[PairScore]:
    """Every pair of submissions, most similar first (ties in input order)."""
    if not prints:
        return []
    counts = shared_counts(prints)
    sizes = [len(item.hashes) for item in prints]
    pairs = [score_pair(a, b, int(counts[a, b]), sizes[a], sizes[b], threshold)
             for a in range(len(prints)) for b in range(a + 1, len(prints))]
    return sorted(pairs, key=lambda pair: -pair.score)


def fragments(a: Fingerprints, b: Fingerprints, k: int = K) -> list[Fragment]:
    """The stretches of ``a`` whose fingerprints ``b`` shares, each beside its match in ``b``."""
    shared = a.hashes & b.hashes
    in_b: dict[int, list[Mark]] = {}
    for mark in b.marks:
        if mark.hash in shared:
            in_b.setdefault(mark.hash, []).append(mark)
    runs: list[list[Mark]] = []
    for mark in sorted((m for m in a.marks if m.hash in shared), key=lambda m: (m.unit, m.token)):
        last = runs[-1][-1] if runs else None
        if last is not None and last.unit == mark.unit and mark.token - last.token < k:
            runs[-1].append(mark)
        else:
            runs.append([mark])
    found = []
    for run in runs:
        matches = [match for mark in run for match in in_b[mark.hash]]
        unit = max({m.unit for m in matches}, key=lambda u: sum(m.unit == u for m in matches))
        b_marks = [m for m in matches if m.unit == unit]
        a_first, a_last = run[0].first_line, max(m.last_line for m in run)
        b_first, b_last = min(m.first_line for m in b_marks), max(m.last_line for m in b_marks)
        a_unit, b_unit = a.units[run[0].unit], b.units[unit]
        found.append(Fragment(a_unit.name, a_first, a_last,
                              "\n".join(a_unit.lines[a_first - 1:a_last]),
                              b_unit.name, b_first, b_last,
                              "\n".join(b_unit.lines[b_first - 1:b_last])))
    return found


@dataclass(frozen=True)
class ChallengeDetector:
    """The detector for one bundle: its own files and fingerprints set aside once."""

    own: Mapping[str, bytes]
    boilerplate: frozenset[int]

    @classmethod
    def for_bundle(cls, bundle: Bundle) -> ChallengeDetector:
        return cls(bundle_files(bundle), bundle_boilerplate(bundle))

    def fingerprint(self, files: Mapping[str, bytes]) -> Fingerprints:
        return fingerprint_submission(files, self.own, self.boilerplate)
