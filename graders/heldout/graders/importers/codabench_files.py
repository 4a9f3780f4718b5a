"""What a CodaBench bundle holds: its folders and inner zips unpacked, its labels, programs and pages."""

from __future__ import annotations

import csv
import html
import re
import shutil
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from heldout.graders.errors import ImportRefused
from heldout.graders.importers.archive import Budget, extract_zip, safe_member_path

COMPETITION_NAMES = ("competition.yaml", "competition.yml")
MAX_YAML_BYTES = 1024 * 1024
MAX_PAGE_CHARS = 20_000
# When a folder holds several .py files, the one that runs is the first of these present.
ENTRYPOINT_NAMES = ("solution.py", "submission.py", "main.py", "run.py", "model.py",
                    "predict.py", "train.py")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in ("p", "br", "li", "h1", "h2", "h3", "h4", "tr", "div"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def page_text(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() in (".html", ".htm"):
        parser = _Text()
        parser.feed(text)
        text = html.unescape("".join(parser.parts))
        text = re.sub(r"\n\s*\n+", "\n\n", text)
    return text.strip()[:MAX_PAGE_CHARS]


class Unpacked:
    """The unpacked bundle: resolves the YAML's references to folders, unpacking inner zips."""

    def __init__(self, zip_path: Path, work: Path) -> None:
        self.shown = zip_path.name
        self.work = work
        self.budget = Budget()
        extract_zip(zip_path, work / "bundle", self.shown, self.budget)
        self.base = self._find_base(work / "bundle")
        self._resolved: dict[str, Path] = {}

    def _find_base(self, root: Path) -> Path:
        for name in COMPETITION_NAMES:
            if (root / name).is_file():
                return root
        inside = [p for p in root.iterdir() if not p.name.startswith(("__MACOSX", "."))]
        if len(inside) == 1 and inside[0].is_dir():
            for name in COMPETITION_NAMES:
                if (inside[0] / name).is_file():
                    return inside[0]
        raise ImportRefused(f"{self.shown}: unknown layout: no competition.yaml at its top")

    def competition_text(self) -> str:
        path = next(self.base / n for n in COMPETITION_NAMES if (self.base / n).is_file())
        if path.stat().st_size > MAX_YAML_BYTES:
            raise ImportRefused(f"{self.shown}: competition.yaml is over 1 MB")
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ImportRefused(f"{self.shown}: competition.yaml is not UTF-8") from exc

    def folder(self, reference: str, where: str) -> tuple[Path, str]:
        """The folder a reference names, and how to show it; a missing one is refused."""
        relative = safe_member_path(reference.removeprefix("./").rstrip("/"))
        if relative is None or not relative.parts:
            raise ImportRefused(f"competition.yaml: {where}: {reference!r} is not a path "
                                f"inside {self.shown}")
        key = relative.as_posix()
        shown = key
        if key in self._resolved:
            return self._resolved[key], shown
        path = self.base.joinpath(*relative.parts)
        if path.is_symlink() or not path.exists():
            raise ImportRefused(f"competition.yaml: {where}: {key!r} is missing from {self.shown}")
        if path.is_dir():
            found = path
        elif path.suffix.lower() == ".zip":
            found = self.work / f"inner-{len(self._resolved)}"
            extract_zip(path, found, f"{self.shown}: {key}", self.budget)
            inside = [p for p in found.iterdir() if not p.name.startswith(("__MACOSX", "."))]
            if len(inside) == 1 and inside[0].is_dir():
                found = inside[0]
        else:  # a single file stands for a folder holding it
            found = self.work / f"inner-{len(self._resolved)}"
            found.mkdir()
            shutil.copyfile(path, found / path.name)
        self._resolved[key] = found
        return found, shown


def files_under(folder: Path, shown: str) -> dict[str, Path]:
    return {f"{shown}/{p.relative_to(folder).as_posix()}": p for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink() and "__MACOSX" not in p.parts
            and "__pycache__" not in p.parts}


def labels_file(reference: Path, shown: str) -> Path:
    tables = sorted(p for p in reference.rglob("*.csv") if p.is_file())
    if len(tables) != 1:
        listed = ", ".join(sorted(files_under(reference, shown))) or "nothing"
        reason = "several CSV files" if tables else "no CSV file"
        raise ImportRefused(f"{shown}: {reason} ({listed}); heldout grades against one CSV of "
                            "labels with an id column")
    return tables[0]


def column_names(path: Path, shown: str, id_column: str | None,
             label_column: str | None) -> tuple[str, str]:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        header = [name.strip() for name in next(csv.reader(handle), [])]
    if id_column is not None and id_column not in header:
        raise ImportRefused(f"{shown}: no column {id_column!r} (header: {','.join(header)})")
    id_name = id_column or (header[0] if header else "")
    others = [name for name in header if name != id_name]
    if label_column is not None:
        if label_column not in others:
            raise ImportRefused(f"{shown}: no label column {label_column!r} "
                                f"(header: {','.join(header)})")
        return id_name, label_column
    if len(others) != 1:
        raise ImportRefused(f"{shown}: expected an id column and one label column, the header is "
                            f"{','.join(header)!r}; pass --id-column and --label-column")
    return id_name, others[0]


def top_programs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.py") if p.is_file())


RESULT_PROGRAM = """\
\"\"\"A result submission imported from a CodaBench bundle: it writes the predictions it shipped.\"\"\"
import os
import shutil

here = os.path.dirname(os.path.abspath(__file__))
shutil.copyfile(os.path.join(here, {file}),
                os.path.join(os.environ["HELDOUT_OUTPUT"], "predictions.csv"))
"""


def result_file(folder: Path, where: str, id_name: str, prediction_name: str) -> Path:
    """The predictions file of a result-only solution (no program): one CSV with the columns."""
    tables = [p for p in sorted(folder.rglob("*.csv")) if p.is_file() and not p.is_symlink()]
    if len(tables) == 1:
        with tables[0].open(encoding="utf-8", errors="replace", newline="") as handle:
            header = [name.strip() for name in next(csv.reader(handle), [])]
        if id_name in header and prediction_name in header:
            return tables[0]
    raise ImportRefused(f"competition.yaml: {where}: neither a .py program nor one CSV of "
                        f"predictions with the columns {id_name!r} and {prediction_name!r}")


def choose_entrypoint(kit: Path | None, solutions: Sequence[tuple[str, Path]], where: str) -> str:
    folders = [programs for programs in
               ([top_programs(kit)] if kit else []) + [top_programs(p) for _, p in solutions]
               if programs]
    if not folders:
        return ENTRYPOINT_NAMES[0]  # only result submissions: their program gets the usual name
    common = sorted(set(folders[0]).intersection(*folders[1:]))
    if not common:
        raise ImportRefused(f"competition.yaml: {where}: the starting kit and the solutions share "
                            "no .py program name, so no one entrypoint runs them all")
    for name in ENTRYPOINT_NAMES:
        if name in common:
            return name
    if len(common) == 1:
        return common[0]
    raise ImportRefused(f"competition.yaml: {where}: several .py programs ({', '.join(common)}) "
                        "and none of the usual names; can't tell which one runs")


def allowed_files(entrypoint: str, folders: Sequence[Path]) -> tuple[list[str], int, int]:
    patterns: set[str] = set()
    most_files, most_bytes = 0, 0
    for folder in folders:
        files = [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        most_files = max(most_files, len(files))
        most_bytes = max(most_bytes, sum(p.stat().st_size for p in files))
        for path in files:
            if path.relative_to(folder).as_posix() != entrypoint:
                patterns.add(f"*{path.suffix}" if path.suffix else path.name)
    return sorted(patterns), max(20, most_files + 5), max(1024 * 1024, 2 * most_bytes)
