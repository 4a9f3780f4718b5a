"""The skip gate: where the whole suite must run (CI, scripts/test), a skip fails the run
unless its reason is on the allow-list below.

A skipped test is a check that did not happen; a run that skips silently can pass by
accident. Only what a host legitimately may lack is allowed, each entry with its reason.
Loaded by tests/conftest.py (and by tests/test_gate.py's inner sessions) from its path.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest


@dataclass(frozen=True)
class AllowedSkip:
    pattern: str  # a regular expression searched in the skip's reason
    why: str  # why a host that skips this is still fully tested


ALLOWED: tuple[AllowedSkip, ...] = (
    AllowedSkip(r"gVisor's runsc is not registered with this engine",
                "gVisor is an optional runtime (HELDOUT_SANDBOX_RUNTIME=runsc): the default "
                "runtime is tested everywhere, runsc only where an operator installed it"),
    AllowedSkip(r"^node is not installed: this test's OpenID Connect provider runs on Node\.js$",
                "single sign-on is tested against a real provider from npm, which needs Node.js; "
                "a host without Node (it is not needed to run heldout) skips that module alone. "
                "CI machines have Node, so it runs there"),
)

REPORT_ENV = "HELDOUT_TEST_REPORT"  # where the session's counts and skips are written (JSON)


def gate_enabled() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("HELDOUT_REQUIRE_DOCKER") == "1"


def allowed_by(reason: str) -> AllowedSkip | None:
    return next((entry for entry in ALLOWED if re.search(entry.pattern, reason)), None)


@dataclass(frozen=True)
class Skip:
    test: str
    reason: str
    allowed_because: str | None


@dataclass
class _Tally:
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skips: list[Skip] = field(default_factory=list)


def _reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    if hasattr(report, "wasxfail"):
        # An expected failure proves nothing either: it must be explained like a skip.
        return f"xfail: {report.wasxfail}" if report.wasxfail else "xfail"
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


class SkipGate:
    """Counts outcomes; under the gate, turns a passing session with an unexplained skip
    into a failed one."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tally = _Tally()

    def _skipped(self, report: pytest.TestReport | pytest.CollectReport) -> None:
        reason = _reason(report)
        entry = allowed_by(reason)
        self.tally.skips.append(Skip(report.nodeid, reason, entry.why if entry else None))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # A module skipped as a whole (importorskip, allow_module_level) never reaches
        # the run phase: its tests would vanish from the counts without this.
        if report.skipped:
            self._skipped(report)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped:
            self._skipped(report)
        elif report.failed:
            if report.when == "call":
                self.tally.failed += 1
            else:
                self.tally.errors += 1
        elif report.when == "call":
            self.tally.passed += 1

    def unexplained(self) -> list[Skip]:
        return [skip for skip in self.tally.skips if skip.allowed_because is None]

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        path = os.environ.get(REPORT_ENV)
        if path:
            tally = self.tally
            Path(path).write_text(json.dumps({
                "gate": self.enabled, "exit_status": int(session.exitstatus),
                "ran": tally.passed + tally.failed, "passed": tally.passed,
                "failed": tally.failed, "errors": tally.errors,
                "skipped": [asdict(skip) for skip in tally.skips],
            }, indent=1))
        if self.enabled and self.unexplained() and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        tally = self.tally
        terminalreporter.section("heldout test gate")
        terminalreporter.line(f"ran {tally.passed + tally.failed}: {tally.passed} passed, "
                              f"{tally.failed} failed, {tally.errors} errors, "
                              f"{len(tally.skips)} skipped")
        for skip in tally.skips:
            verdict = (f"allowed: {skip.allowed_because}" if skip.allowed_because
                       else "NOT ALLOWED" if self.enabled else "not on the allow-list")
            terminalreporter.line(f"skipped {skip.test}: {skip.reason} [{verdict}]")
        if self.enabled and self.unexplained():
            terminalreporter.line(
                f"{len(self.unexplained())} skip(s) not on the allow-list (tests/skips.py): "
                "the run fails. Fix the cause, or add a documented entry if a host may "
                "legitimately lack it.", red=True, bold=True)
