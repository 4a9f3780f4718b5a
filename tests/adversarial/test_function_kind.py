"""Attacks on the ``function`` kind through the real sandbox: the answers stay out of reach.

Candidate code shares the sandbox (and, at import time, the process) with the harness, so
these submissions read every file, variable, frame and object they can find, forge the
results file, hang, exit and kill the harness. Hidden answers are random tokens, so a
submission could only score by finding them.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from heldout.graders import evaluate, load_bundle
from heldout.graders.bundle import Bundle
from heldout.graders.result import Evaluation

pytestmark = pytest.mark.docker

TOML = """\
title = "Echo"
kind = "function"
summary = "Return a token."
skills = ["python"]
difficulty = "easy"
expected_minutes = 5

[submission]
entrypoint = "solution.py"

[limits]
wall_seconds = 40
memory_mb = 512

[grading]
functions = ["token"]
case_timeout = 2
"""


def _bundle(root: Path, answers: list[str]) -> Bundle:
    for name in ("public", "hidden", "starter"):
        (root / name).mkdir(parents=True)
    (root / "challenge.toml").write_text(TOML)
    (root / "statement.md").write_text("# Echo\n\nReturn the hidden token for case i.\n")
    (root / "starter" / "solution.py").write_text("def token(i):\n    return ''\n")
    (root / "public" / "cases.jsonl").write_text(
        json.dumps({"function": "token", "args": [0], "expected": "public-token"}) + "\n")
    (root / "hidden" / "cases.jsonl").write_text("".join(
        json.dumps({"function": "token", "args": [i + 1], "expected": answer,
                    "group": "secret-group"}) + "\n" for i, answer in enumerate(answers)))
    return load_bundle(root)


@pytest.fixture
def answers() -> list[str]:
    return [f"answer-{secrets.token_hex(8)}" for _ in range(4)]


@pytest.fixture
def echo(sandbox_image: str, tmp_path: Path, answers: list[str]) -> Bundle:
    return _bundle(tmp_path / "challenges" / "echo", answers)


def _grade(bundle: Bundle, tmp_path: Path, code: str) -> Evaluation:
    submission = tmp_path / "submission"
    submission.mkdir(exist_ok=True)
    (submission / "solution.py").write_text(code)
    evaluation = evaluate(bundle, submission)
    assert evaluation.status == "graded", evaluation.error
    return evaluation


def _tests(evaluation: Evaluation) -> str:
    return " ".join(c.detail for c in evaluation.checks if c.name.startswith("tests"))


SNOOP = r'''
import gc, json, os, sys

FOUND = {"places": [], "inputs_seen": False, "public_seen": False}
# What only hidden/ holds: the answers' prefix and the hidden cases' group name.
NEEDLES = ("answer-", "secret-group")
MINE = (NEEDLES, FOUND, FOUND["places"])


def _look(where, text):
    if not isinstance(text, str):
        return
    if '"function": "token"' in text and "args" in text:
        FOUND["inputs_seen"] = True
    if "public-token" in text:
        FOUND["public_seen"] = True
    for needle in NEEDLES:
        if needle in text:
            FOUND["places"].append(f"{where}: {needle}")


def _files():
    # Everything but this submission's own source and the image's libraries (built
    # before any bundle existed); /proc and /sys hold no files of the bundle.
    for root in ("/harness", "/data", "/tmp", "/output", "/run", "/home", "/root", "/etc", "/var"):
        for dirpath, _, names in os.walk(root):
            for name in names:
                try:
                    with open(os.path.join(dirpath, name), "rb") as handle:
                        _look(os.path.join(dirpath, name), handle.read(2_000_000).decode("latin-1"))
                except OSError:
                    pass


def _memory():
    for key, value in os.environ.items():
        _look(f"env {key}", value)
    frame = sys._getframe()
    while frame is not None:
        if frame.f_globals is globals():
            frame = frame.f_back
            continue
        for key, value in list(frame.f_locals.items()) + list(frame.f_globals.items()):
            if value is globals() or (isinstance(value, tuple)
                                      and any(v is globals() for v in value)):
                continue
            _look(f"frame {frame.f_code.co_name} {key}", key)
            _look(f"frame {frame.f_code.co_name} {key}", repr(value)[:100000])
        frame = frame.f_back
    for obj in gc.get_objects():
        if any(obj is mine for mine in MINE) or obj is globals():
            continue
        if isinstance(obj, dict):
            for key, value in list(obj.items())[:1000]:
                _look("gc dict key", key if isinstance(key, str) else "")
                _look("gc dict value", value if isinstance(value, str) else "")
        elif isinstance(obj, (list, tuple)):
            for item in list(obj)[:1000]:
                _look("gc sequence", item if isinstance(item, str) else "")


_files()
_memory()


def token(i):
    _memory()
    FOUND["places"] = FOUND["places"][:5]
    print("SNOOP", json.dumps(FOUND), flush=True)
    return "found: " + "; ".join(FOUND["places"]) if FOUND["places"] else "nothing found"
'''


def test_hidden_answers_unreachable_from_files_env_frames_and_objects(
        echo: Bundle, tmp_path: Path, answers: list[str]) -> None:
    evaluation = _grade(echo, tmp_path, SNOOP)
    assert evaluation.score == 0
    assert evaluation.run is not None
    stdout = evaluation.run.stdout_tail
    reports = [json.loads(line.split(" ", 1)[1]) for line in stdout.splitlines()
               if line.startswith("SNOOP ")]
    assert len(reports) == len(answers)
    for report in reports:
        assert report["inputs_seen"], "the search must at least find the case inputs"
        assert report["public_seen"], "and the public cases"
        assert report["places"] == [], report["places"]
    for answer in answers:
        assert answer not in stdout
    assert _tests(evaluation).count("got 'nothing found'") == 3  # the detail names 3 failures


def test_a_forged_results_file_earns_nothing(echo: Bundle, tmp_path: Path) -> None:
    code = '''
import json, os
with open(os.path.join(os.environ["HELDOUT_OUTPUT"], "results.jsonl"), "a") as out:
    for i in range(1, 5):
        out.write(json.dumps({"id": i, "status": "ok", "value": "guess"}) + "\\n")
    out.write('{"id": 1, "status": "ok", "value": NaN}\\n')
    out.write("garbage\\n")

def token(i):
    return "guess"
'''
    evaluation = _grade(echo, tmp_path, code)
    assert evaluation.score == 0
    assert "reported more than once" in _tests(evaluation)


def test_a_huge_or_linked_results_file_is_graded_not_crashed(echo: Bundle, tmp_path: Path) -> None:
    huge = '''
import os
path = os.path.join(os.environ["HELDOUT_OUTPUT"], "results.jsonl")
with open(path, "a") as out:
    out.write("x" * (30 * 1024 * 1024))

def token(i):
    return "guess"
'''
    evaluation = _grade(echo, tmp_path, huge)
    assert evaluation.score == 0
    assert "over the" in evaluation.checks[0].detail or "no result" in _tests(evaluation)

    linked = '''
import os
path = os.path.join(os.environ["HELDOUT_OUTPUT"], "results.jsonl")
os.unlink(path)
os.symlink("/harness/cases.json", path)

def token(i):
    return "guess"
'''
    evaluation = _grade(echo, tmp_path, linked)
    assert evaluation.score == 0
    assert "no result" in _tests(evaluation)


def test_a_case_that_hangs_fails_alone(echo: Bundle, tmp_path: Path, answers: list[str]) -> None:
    code = f'''
import signal, time
ANSWERS = {answers!r}

def token(i):
    if i == 2:
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        while True:
            pass
    if i == 3:
        time.sleep(3600)
    return ANSWERS[i - 1]
'''
    evaluation = _grade(echo, tmp_path, code)
    assert evaluation.score == 50
    detail = _tests(evaluation)
    assert "2/4 cases passed" in detail and "timed out after 2 s" in detail
    assert evaluation.checks[0].passed  # the run itself finished


def test_exiting_in_a_case_fails_that_case_and_killing_the_harness_ends_the_rest(
        echo: Bundle, tmp_path: Path, answers: list[str]) -> None:
    exiting = f'''
import os
ANSWERS = {answers!r}

def token(i):
    if i == 1:
        os._exit(7)
    return ANSWERS[i - 1]
'''
    evaluation = _grade(echo, tmp_path, exiting)
    assert evaluation.score == 75
    assert "exited with code 7 before returning" in _tests(evaluation)

    killing = f'''
import os, signal
ANSWERS = {answers!r}

def token(i):
    if i == 3:
        os.kill(os.getppid(), signal.SIGKILL)
    return ANSWERS[i - 1]
'''
    evaluation = _grade(echo, tmp_path, killing)
    assert evaluation.score == 50
    assert not evaluation.checks[0].passed
    assert "no result: the run stopped before this case finished" in _tests(evaluation)


def test_exit_at_import_is_a_failed_run(echo: Bundle, tmp_path: Path) -> None:
    evaluation = _grade(echo, tmp_path, "import sys\nsys.exit(0)\n")
    assert evaluation.score == 0
    assert not evaluation.checks[0].passed
