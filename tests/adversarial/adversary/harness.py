"""Runs catalogue attacks through the grader or the sandbox and checks what came of them."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from .catalogue import Attack
from .host import Canaries

CHURN = Path(__file__).resolve().parents[3] / "challenges" / "churn-prediction"
MAX_DETAIL_CHARS = 2000


@dataclass(frozen=True)
class Secrets:
    """Values that must never come back from a sandbox; attacks get them hex-encoded."""

    label_canary: str  # in every row and the header of the hidden labels, and hidden/canary.txt
    env_secret: str  # set in the grading process's environment and its Docker config
    victim_secret: str  # what another, concurrent run writes to its /output
    host_canary_text: str  # content of host canary files

    def all(self) -> tuple[str, ...]:
        return (self.label_canary, self.env_secret, self.victim_secret, self.host_canary_text)


def _limits_toml(limits: Mapping[str, float]) -> str:
    return "[limits]\n" + "".join(f"{k} = {v!r}\n" for k, v in sorted(limits.items())) + "\n"


class BundleMaker:
    """Copies of churn-prediction with given limits and a canary planted in hidden/."""

    def __init__(self, root: Path, canary: str) -> None:
        self.root = root
        self.template = root / "template" / CHURN.name
        shutil.copytree(CHURN, self.template, ignore=shutil.ignore_patterns("__pycache__"))
        hidden = self.template / "hidden"
        lines = [line for line in (hidden / "labels.csv").read_text().splitlines() if line]
        rows = [lines[0] + f",{canary}"] + [f"{line},{canary}" for line in lines[1:]]
        (hidden / "labels.csv").write_text("\n".join(rows) + "\n")
        (hidden / "canary.txt").write_text(f"{canary}\n")
        self._made: dict[tuple[tuple[str, float], ...], Any] = {}
        self._lock = threading.Lock()

    def get(self, limits: Mapping[str, float]) -> Any:
        with self._lock:
            return self._get(limits)

    def _get(self, limits: Mapping[str, float]) -> Any:
        from heldout.graders import load_bundle

        key = tuple(sorted(limits.items()))
        if key not in self._made:
            target = self.root / f"profile-{len(self._made)}" / CHURN.name
            shutil.copytree(self.template, target)
            toml = target / "challenge.toml"
            text = toml.read_text()
            replaced, count = re.subn(r"(?ms)^\[limits\]\n.*?(?=^\[)", _limits_toml(limits), text)
            if count != 1:
                replaced = text + "\n" + _limits_toml(limits)
            toml.write_text(replaced)
            self._made[key] = load_bundle(target)
        return self._made[key]


@dataclass(frozen=True)
class Outcome:
    """What one run of an attack came to, whichever way it ran."""

    status: str
    score: float | None
    details: tuple[str, ...]
    run: Mapping[str, Any]
    error: str | None = None
    neighbour: str | None = None  # stdout of the run started beside it (``needs: neighbour``)

    @property
    def stdout(self) -> str:
        return str(self.run.get("stdout_tail", ""))

    @property
    def stderr(self) -> str:
        return str(self.run.get("stderr_tail", ""))

    def describe(self) -> str:
        shown = {k: v for k, v in self.run.items() if k not in ("stdout_tail", "stderr_tail")}
        details = [d if len(d) <= 400 else d[:400] + f"… ({len(d)} chars)" for d in self.details]
        error = self.error if self.error is None or len(self.error) <= 400 else self.error[:400] + "…"
        return (f"status={self.status} score={self.score} error={error}\n"
                f"details: {details}\nrun: {shown}\n"
                f"stdout (end): {self.stdout[-1500:]}\nstderr (end): {self.stderr[-1500:]}"
                + (f"\nneighbour: {self.neighbour[-1500:]}" if self.neighbour is not None else ""))


def _hex(text: str) -> str:
    return text.encode().hex()


class Adversary:
    """Runs catalogue attacks through the grader or the sandbox and checks their outcome."""

    def __init__(self, request: pytest.FixtureRequest, tmp_path: Path, bundles: BundleMaker,
                 secret_values: Secrets, canaries: Canaries) -> None:
        self.request = request
        self.tmp_path = tmp_path
        self.bundles = bundles
        self.secrets = secret_values
        self.canaries = canaries
        self.counter = itertools.count(1)  # launches may run in threads

    def bundle(self, attack: Attack) -> Any:
        return self.bundles.get(attack.all_limits)

    def limits(self, attack: Attack) -> Any:
        from heldout.sandbox import Limits

        return Limits.from_mapping(attack.all_limits)

    def source(self, attack: Attack) -> str:
        bundle = self.bundle(attack)
        values = {
            "__LABEL_CANARY_HEX__": _hex(self.secrets.label_canary),
            "__ENV_SECRET_HEX__": _hex(self.secrets.env_secret),
            "__VICTIM_SECRET_HEX__": _hex(self.secrets.victim_secret),
            "__HIDDEN_DIR__": str(bundle.hidden_dir),
            "__REPO_HIDDEN_DIR__": str(CHURN / "hidden"),
        }
        values["__HOST_FILES__"] = json.dumps([str(p) for p in self.canaries.files])
        for need in attack.needs:
            extra = self.request.getfixturevalue(need)
            if need == "host_listener":
                values["__HOST_PORT__"] = str(extra.port)
                values["__HOST_ADDRS__"] = json.dumps(extra.addresses())
                values["__HOST_ABSTRACT__"] = extra.abstract_name
            elif need == "other_run":
                values["__OTHER_RUN_DIR__"] = str(extra.rundir)
            elif need == "host_canary":
                values["__HOST_CANARY__"] = str(extra)
        text = attack.path.read_text(encoding="utf-8")
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        leftover = re.findall(r"__[A-Z][A-Z_]*__", text)
        assert not leftover, f"{attack.name}: placeholders not filled: {leftover}"
        return text

    def _fresh(self, name: str) -> Path:
        path = self.tmp_path / f"{name}-{next(self.counter)}"
        path.mkdir()
        return path

    def launch(self, attack: Attack, *, pool: Any | None = None) -> list[Outcome]:
        """Run the attack ``attack.runs`` times in a row (each in a fresh sandbox)."""
        outcomes = []
        for _ in range(attack.runs):
            if pool is not None:
                assert pool.wait_warm(1, timeout=180), "the warm pool did not warm up"
            neighbour = self.request.getfixturevalue("neighbour") if "neighbour" in attack.needs else None
            if neighbour is not None:
                neighbour.watch()
            outcome = self._grade(attack, pool) if attack.route == "grader" else self._run(attack, pool)
            if neighbour is not None:
                outcome = replace(outcome, neighbour=neighbour.finish())
            outcomes.append(outcome)
        return outcomes

    def _grade(self, attack: Attack, pool: Any | None) -> Outcome:
        from heldout.graders import evaluate
        from heldout.sandbox.docker_backend import DockerSandbox

        submission = self._fresh("submission")
        (submission / "solution.py").write_text(self.source(attack), encoding="utf-8")
        sandbox = DockerSandbox(pool=pool) if pool is not None else None
        evaluation = evaluate(self.bundle(attack), submission, sandbox=sandbox)
        return Outcome(evaluation.status, evaluation.score,
                       tuple(c.detail for c in evaluation.checks),
                       _with_sizes(evaluation.run.as_dict() if evaluation.run else {}), evaluation.error)

    def _run(self, attack: Attack, pool: Any | None) -> Outcome:
        from heldout.sandbox import JobSpec, run

        workspace = self._fresh("workspace")
        (workspace / attack.path.name).write_text(self.source(attack), encoding="utf-8")
        spec = JobSpec(command=attack.command, workspace=workspace,
                       data=self.bundle(attack).public_dir, limits=self.limits(attack),
                       labels={"heldout.adversarial": attack.name})
        result = run(spec, self._fresh("output"), pool=pool)
        details = tuple(f"skipped output: {s}" for s in result.skipped_outputs)
        return Outcome("ran", None, details, _with_sizes(result.as_dict()))

    def problems(self, attack: Attack, outcome: Outcome, *, warm: bool) -> list[str]:
        found: list[str] = []
        if attack.route == "grader":
            if outcome.status != "graded":
                error = str(outcome.error)
                shown = error if len(error) <= 300 else error[:300] + "…"
                found.append(f"status is {outcome.status!r} ({shown}), not 'graded'")
            elif outcome.score is None or not attack.score_min <= outcome.score <= attack.score_max:
                found.append(f"score {outcome.score} outside "
                             f"{attack.score_min:g}..{attack.score_max:g}")
        if outcome.run:
            if bool(outcome.run.get("warm")) != warm:
                expected, actual = ("warm", "cold") if warm else ("cold", "warm")
                found.append(f"ran {actual}, expected {expected}")
        elif attack.run or attack.stdout:
            found.append("nothing ran")
        for detail in outcome.details:  # one short line an interviewer reads, whatever the attack
            if len(detail) > MAX_DETAIL_CHARS or "\n" in detail:
                found.append(f"a check detail is not one short line ({len(detail)} chars): "
                             f"{detail[:120]!r}…")
        joined = "\n".join(outcome.details)
        found += [f"no check detail matches {p!r}" for p in attack.details
                  if not re.search(p, joined)]
        found += [problem for term in attack.run if (problem := term.problem(outcome.run))]
        found += [f"stdout does not match {p!r}" for p in attack.stdout
                  if not re.search(p, outcome.stdout, re.MULTILINE)]
        if "neighbour" in attack.needs:
            if outcome.neighbour is None:
                found.append("the neighbour run never started (no /output/neighbour-go seen)")
            elif "NEIGHBOUR-COMPLETE" not in outcome.neighbour:
                found.append("the neighbour run did not complete")
        everything = "\n".join((outcome.stdout, outcome.stderr, joined, outcome.neighbour or ""))
        for pattern in ("BREACH", *attack.forbid):
            for match in re.finditer(f"^.*(?:{pattern}).*$", everything, re.MULTILINE):
                found.append(f"forbidden {pattern!r}: {match[0].strip()[:300]}")
        for value in self.secrets.all():
            if value in everything:
                found.append(f"a secret came back from the sandbox: {value[:24]}…")
        if "host_listener" in attack.needs:
            contacts = self.request.getfixturevalue("host_listener").contacts
            found += [f"the host listener was reached: {contact}" for contact in contacts]
        if "host_canary" in attack.needs:
            canary = self.request.getfixturevalue("host_canary")
            if os.path.lexists(canary):
                found.append(f"{canary} exists: the grader ran candidate code on the host")
        if attack.max_wall is not None and outcome.run:
            wall = float(outcome.run.get("wall_seconds", 0))
            if wall > attack.max_wall:
                found.append(f"took {wall:.1f} s, more than {attack.max_wall:g} s")
        return found

    def check(self, attack: Attack, outcomes: list[Outcome], *, warm: bool = False) -> None:
        if os.environ.get("HELDOUT_ADVERSARIAL_SHOW") == "1":  # see outcomes with -s
            for outcome in outcomes:
                print(f"\n=== {attack.name}{' (warm)' if warm else ''}\n{outcome.describe()}")
        report = []
        for index, outcome in enumerate(outcomes, start=1):
            found = self.problems(attack, outcome, warm=warm)
            if found:
                report.append(f"run {index} of {len(outcomes)}:\n  - " + "\n  - ".join(found)
                              + "\n" + outcome.describe())
        if report:
            pytest.fail(f"attack {attack.name} ({attack.summary}) was not contained as "
                        f"expected ({attack.expect}):\n" + "\n".join(report), pytrace=False)


def _with_sizes(run: dict[str, Any]) -> dict[str, Any]:
    """Derived fields for ``run:`` expectations on how much log text came back."""
    run["stdout_chars"] = len(str(run.get("stdout_tail", "")))
    run["stderr_chars"] = len(str(run.get("stderr_tail", "")))
    return run


class Neighbour:
    """An honest run started once an attack signals (``/output/neighbour-go``) it holds its loot.

    It checks that what every run may use is still available to it; whatever it was denied
    comes back as ``BREACH`` lines in its stdout.
    """

    def __init__(self, client: Any, probe: Path, workspace: Path, output: Path) -> None:
        self.client = client
        self.probe = probe
        self.workspace = workspace
        self.output = output
        self._stdout: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self) -> None:
        self._stdout = None
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="adversarial-neighbour",
                                        daemon=True)
        self._thread.start()

    def _signalled(self) -> bool:
        mine = self.client.api.containers(filters={"label": [
            "heldout.sandbox=1", f"heldout.owner-pid={os.getpid()}"]})
        for container in mine:
            rundir = (container.get("Labels") or {}).get("heldout.rundir")
            if rundir and (Path(rundir) / "output" / "neighbour-go").exists():
                return True
        return False

    def _serve(self) -> None:
        from heldout.sandbox import JobSpec, Limits, run

        while not self._stop.is_set():
            if self._signalled():
                shutil.rmtree(self.workspace, ignore_errors=True)
                self.workspace.mkdir(parents=True)
                shutil.copy(self.probe, self.workspace / "main.py")
                spec = JobSpec(command=("python", "main.py"), workspace=self.workspace,
                               limits=Limits(wall_seconds=30), labels={"heldout.neighbour": "1"})
                result = run(spec, self.output)
                self._stdout = result.stdout_tail + result.stderr_tail
                return
            self._stop.wait(0.05)

    def finish(self) -> str | None:
        """The neighbour's output, or None if the attack never signalled."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=90)
        return self._stdout
