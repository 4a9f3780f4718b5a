"""Hostile file names in a web upload (the platform has no archive upload; these are its names).

A name is either refused when the candidate submits (a clear message) or it can be written
under the worker's submission directory. Anything else fails later, in the worker, as an
``internal_error`` the candidate caused: retried and never graded.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

SPEC_ARGS = ("solution.py", ("*.py",), 262144, 10)
TRAVERSING = ["../solution.py", "../../tmp/x.py", "/etc/cron.d/x.py", "sub/../../x.py",
              "..\\..\\x.py", "sub\\..\\..\\x.py", "./../x.py", ".hidden.py"]
# Odd names the submit check refuses: control characters, a NUL, bidirectional overrides,
# a part or a path too long for the worker's file system.
REFUSED = ["x\x00.py", "a" * 300 + ".py", "line\nbreak.py", "\u202eyp.exe.py",
           "/".join(["d"] * 200) + "/x.py"]
# Odd names it accepts, and the name the file is stored under.
ACCEPTED = {"sub//x.py": "sub/x.py", "x.py/": "x.py", " x.py": " x.py"}


def _check(names: list[str]) -> list[str]:
    from heldout.graders.bundle import SubmissionSpec
    from heldout.platform.services.submissions import SubmittedFile, check_files

    files = [SubmittedFile("solution.py", b"print(1)\n")]
    files += [SubmittedFile(name, b"x = 1\n") for name in names]
    return [item.name for item in check_files(SubmissionSpec(*SPEC_ARGS), files)]


def _assert_refused(name: str) -> None:
    from heldout.platform.errors import InvalidInput
    from heldout.platform.http import status_of

    with pytest.raises(InvalidInput) as info:
        _check([name])
    # What the candidate sees: a 400 that names the file (shortened, escaped) and says why.
    assert status_of(info.value) == 400
    message = str(info.value)
    assert message.endswith("is not a usable file name"), message
    assert repr(name[:8])[1:-1] in message, message
    assert len(message) < 120, "the message echoes an over-long name whole"


@pytest.mark.parametrize("name", TRAVERSING)
def test_a_path_traversing_name_is_refused_at_submit(name: str) -> None:
    _assert_refused(name)


@pytest.mark.parametrize("name", REFUSED, ids=lambda n: repr(n[:24]))
def test_an_unusable_name_is_refused_at_submit(name: str) -> None:
    _assert_refused(name)


@pytest.mark.parametrize(("name", "stored_as"), ACCEPTED.items(), ids=lambda n: repr(n[:24]))
def test_an_accepted_name_can_be_written_by_the_worker(name: str, stored_as: str, tmp_path: Path) -> None:
    from heldout.platform.services.jobs import materialise_files  # the worker's own step

    accepted = _check([name])
    assert accepted == ["solution.py", stored_as]
    stored = SimpleNamespace(files=[SimpleNamespace(name=n, sha256=n) for n in accepted])
    blobs = SimpleNamespace(get=lambda sha: b"x = 1\n")
    directory = tmp_path / "submission"
    try:
        materialise_files(stored.files, cast(Any, blobs), directory)  # stand-ins: names and bytes only
    except (OSError, ValueError) as exc:
        pytest.fail(f"{name[:40]!r} passed the submit checks but the worker can't write it "
                    f"({type(exc).__name__}: {str(exc)[:120]}): the submission would end "
                    "as internal_error")
    written = (directory / stored_as).resolve()
    assert written.is_relative_to(directory.resolve()) and written.is_file()
    assert written.read_bytes() == b"x = 1\n"
