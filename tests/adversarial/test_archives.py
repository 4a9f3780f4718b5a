"""Hostile archives and notebooks in an upload: refused with a clear reason, nothing stored."""

from __future__ import annotations

import io
import random
import stat
import zipfile
from typing import Any

import pytest

from heldout.graders.bundle import SubmissionSpec
from heldout.platform.errors import InvalidInput, UploadTooLarge
from heldout.platform.services.submissions import SubmittedFile, check_files

SPEC = SubmissionSpec(entrypoint="solution.py", allowed=("*.py", "*.ipynb"), max_bytes=256 * 1024,
                      max_files=10)


def zipped(*entries: tuple[str, bytes], link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
        if link is not None:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def refusal(*files: SubmittedFile) -> str:
    with pytest.raises(InvalidInput) as info:
        check_files(SPEC, list(files))
    return str(info.value)


def test_a_zip_of_code_is_expanded() -> None:
    data = zipped(("solution.py", b"print('hi')\n"), ("lib/helpers.py", b"X = 1\n"))
    files = check_files(SPEC, [SubmittedFile("work.zip", data)])
    assert {f.name for f in files} == {"solution.py", "lib/helpers.py"}


def test_zip_bomb_is_refused_before_inflating() -> None:
    bomb = zipped(("solution.py", b"print(1)\n"), ("data.py", b"#" * (200 * 1024 * 1024)))
    assert len(bomb) < 1024 * 1024
    with pytest.raises(InvalidInput) as info:
        check_files(SPEC, [SubmittedFile("bomb.zip", bomb)])
    assert "expands" in str(info.value)


def test_zip_over_the_size_cap_is_refused() -> None:
    big = zipped(("solution.py", random.Random(0).randbytes(300 * 1024)))  # incompressible
    with pytest.raises(UploadTooLarge):
        check_files(SPEC, [SubmittedFile("big.zip", big)])


@pytest.mark.parametrize("name", ["../../etc/cron.d/x.py", "/abs/solution.py", "a/../../b.py",
                                  "..\\..\\evil.py"])
def test_path_traversing_names_in_a_zip_are_refused(name: str) -> None:
    assert "not a usable file name" in refusal(
        SubmittedFile("work.zip", zipped(("solution.py", b"print(1)\n"), (name, b"x = 1\n"))))


def test_links_in_a_zip_are_refused() -> None:
    assert "is a link" in refusal(
        SubmittedFile("work.zip", zipped(("solution.py", b"print(1)\n"), link="data.py")))


def test_a_file_that_is_not_a_zip_says_so() -> None:
    assert "not a readable .zip archive" in refusal(SubmittedFile("work.zip", b"PK\x03\x04garbage"))


def test_a_notebook_that_is_not_json_is_refused_clearly() -> None:
    message = refusal(SubmittedFile("solution.py", b"print(1)\n"),
                      SubmittedFile("analysis.ipynb", b"this is { not json"))
    assert "analysis.ipynb is not a valid Jupyter notebook" in message


def test_a_notebook_missing_required_fields_is_refused() -> None:
    message = refusal(SubmittedFile("solution.py", b"print(1)\n"),
                      SubmittedFile("analysis.ipynb", b'{"cells": "nope", "nbformat": 4}'))
    assert "not a valid Jupyter notebook" in message


def test_a_valid_notebook_is_accepted() -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    files = check_files(SPEC, [SubmittedFile("solution.py", b"print(1)\n"),
                               SubmittedFile("analysis.ipynb", nbformat.writes(notebook).encode())])
    assert [f.name for f in files] == ["solution.py", "analysis.ipynb"]


def test_a_notebook_over_the_size_cap_is_refused_before_it_is_parsed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The notebook was parsed and validated first and its size checked after: seconds of
    the web app's CPU for every upload refused anyway."""
    import nbformat

    parsed: list[int] = []
    real_reads: Any = nbformat.reads

    def counting_reads(text: str, *args: Any, **kwargs: Any) -> Any:
        parsed.append(len(text))
        return real_reads(text, *args, **kwargs)

    monkeypatch.setattr(nbformat, "reads", counting_reads)
    cells = [nbformat.v4.new_code_cell(f"x_{n} = {n}  # " + "y" * 200) for n in range(2000)]
    big = nbformat.writes(nbformat.v4.new_notebook(cells=cells)).encode()
    assert len(big) > SPEC.max_bytes
    with pytest.raises(UploadTooLarge):
        check_files(SPEC, [SubmittedFile("solution.py", b"print(1)\n"),
                           SubmittedFile("analysis.ipynb", big)])
    assert parsed == []
    # One of its size is still read and checked.
    small = nbformat.writes(nbformat.v4.new_notebook(cells=cells[:5])).encode()
    check_files(SPEC, [SubmittedFile("solution.py", b"print(1)\n"),
                       SubmittedFile("analysis.ipynb", small)])
    assert parsed == [len(small)]
