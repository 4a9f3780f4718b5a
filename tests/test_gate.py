"""The skip gate itself, run on tiny generated test files in an inner pytest session."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

SKIPS = Path(__file__).with_name("skips.py")

# The inner session loads the very gate the suite uses, from its path.
INNER_CONFTEST = f"""
import importlib.util
import sys

def pytest_configure(config):
    spec = importlib.util.spec_from_file_location("inner_skips", {str(SKIPS)!r})
    skips = sys.modules.setdefault(spec.name, importlib.util.module_from_spec(spec))
    spec.loader.exec_module(skips)
    config.pluginmanager.register(skips.SkipGate(skips.gate_enabled()), "heldout-skip-gate")
"""

ALLOWED_REASON = "gVisor's runsc is not registered with this engine"


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("HELDOUT_REQUIRE_DOCKER", raising=False)
    monkeypatch.setenv("HELDOUT_TEST_REPORT", str(pytester.path / "report.json"))
    pytester.makeconftest(INNER_CONFTEST)
    return pytester


def report(pytester: pytest.Pytester) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((pytester.path / "report.json").read_text())
    return loaded


def test_an_unexplained_skip_fails_the_gated_run(inner: pytest.Pytester,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELDOUT_REQUIRE_DOCKER", "1")
    inner.makepyfile(test_inner="""
        import pytest

        def test_fine():
            assert True

        def test_skips():
            pytest.skip("the kernel header is missing")
    """)
    result = inner.runpytest()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*test_skips: the kernel header is missing [[]NOT ALLOWED[]]*",
                                 "*1 skip(s) not on the allow-list*"])
    written = report(inner)
    assert written["ran"] == 1 and written["passed"] == 1
    assert written["skipped"] == [{"test": "test_inner.py::test_skips",
                                   "reason": "the kernel header is missing",
                                   "allowed_because": None}]


def test_ci_true_enables_the_gate_too(inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    inner.makepyfile(test_inner="""
        import pytest

        @pytest.mark.skipif(True, reason="no engine here")
        def test_marked():
            pass
    """)
    assert inner.runpytest().ret == pytest.ExitCode.TESTS_FAILED


def test_a_module_skipped_at_collection_fails_the_gated_run(inner: pytest.Pytester,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELDOUT_REQUIRE_DOCKER", "1")
    inner.makepyfile(test_inner="""
        import pytest

        pytest.importorskip("a_module_nobody_installed")

        def test_never_collected():
            pass
    """, test_other="""
        def test_fine():
            assert True
    """)
    result = inner.runpytest()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    (skip,) = report(inner)["skipped"]
    assert skip["test"] == "test_inner.py" and "a_module_nobody_installed" in skip["reason"]


def test_an_expected_failure_counts_as_unexplained(inner: pytest.Pytester,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELDOUT_REQUIRE_DOCKER", "1")
    inner.makepyfile(test_inner="""
        import pytest

        @pytest.mark.xfail(reason="flaky")
        def test_xfails():
            assert False
    """)
    assert inner.runpytest().ret == pytest.ExitCode.TESTS_FAILED


def test_an_allowed_skip_passes_the_gated_run(inner: pytest.Pytester,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELDOUT_REQUIRE_DOCKER", "1")
    inner.makepyfile(test_inner=f"""
        import pytest

        @pytest.fixture
        def runtime():
            pytest.skip({ALLOWED_REASON!r})

        def test_fine():
            assert True

        def test_gvisor(runtime):
            assert False, "never reached"
    """)
    result = inner.runpytest()
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines([f"*test_gvisor: {ALLOWED_REASON} [[]allowed: gVisor is an optional*"])
    (skip,) = report(inner)["skipped"]
    assert skip["allowed_because"].startswith("gVisor is an optional runtime")


def test_without_the_gate_a_skip_is_reported_but_passes(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_inner="""
        import pytest

        def test_skips():
            pytest.skip("no engine here")
    """)
    result = inner.runpytest()
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*test_skips: no engine here [[]not on the allow-list[]]*"])


def test_a_failure_stays_a_failure(inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELDOUT_REQUIRE_DOCKER", "1")
    inner.makepyfile(test_inner="""
        def test_fails():
            assert 1 == 2
    """)
    result = inner.runpytest()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert report(inner)["failed"] == 1


def test_no_tests_stays_exit_5(inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELDOUT_REQUIRE_DOCKER", "1")
    assert inner.runpytest().ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_every_allow_list_entry_says_why() -> None:
    skips = sys.modules["heldout_test_skips"]  # loaded by tests/conftest.py
    assert skips.ALLOWED, "an empty allow-list is fine, but then delete this test"
    for entry in skips.ALLOWED:
        assert len(entry.why) > 20, entry
    assert skips.allowed_by(ALLOWED_REASON) is not None
    assert skips.allowed_by("no Docker engine: connection refused") is None
