"""The ``run`` check (registered in :mod:`heldout.graders.checks`): did the program finish?"""

from __future__ import annotations

import signal as signals

from heldout.graders.checks import RUN
from heldout.graders.result import Check
from heldout.sandbox.spec import Limits, RunResult

MAX_ERROR_CHARS = 200


def _last_error_line(stderr: str) -> str:
    """The line a Python traceback ends with: usually the exception and its message."""
    for line in reversed(stderr.strip().splitlines()):
        line = line.strip()
        if line and not line.startswith("[… output truncated"):
            return line[:MAX_ERROR_CHARS] + ("…" if len(line) > MAX_ERROR_CHARS else "")
    return ""


def _signal_name(number: int) -> str:
    try:
        return signals.Signals(number).name
    except ValueError:
        return f"signal {number}"


def describe_stop(result: RunResult, limits: Limits) -> str | None:
    """Why the run failed, in one line an interviewer understands; None if it succeeded."""
    if result.timed_out or result.limit == "time":
        return f"stopped after the {limits.wall_seconds:g} s time limit"
    if result.oom_killed or result.limit == "memory":
        return (f"ran out of memory: killed at the {limits.memory_mb} MB limit "
                f"(peak seen {result.peak_memory_mb:.0f} MB)")
    if result.limit == "file_size":
        return f"stopped for writing a file over the {limits.file_size_mb} MB file size limit"
    if result.limit == "output":
        return (f"wrote more than the output limit ({limits.output_mb} MB, "
                f"{limits.output_files} files)")
    if result.limit == "processes":
        return f"failed after hitting the limit of {limits.pids} processes/threads"
    if result.limit is not None:
        return f"stopped by the {result.limit} limit"
    if result.exit_code is None:
        return "ended without an exit status"
    if result.exit_code != 0:
        error = _last_error_line(result.stderr_tail)
        if result.signal is not None:
            what = f"was killed by {_signal_name(result.signal)}"
        else:
            what = f"exited with code {result.exit_code}"
        return f"{what}: {error}" if error else what
    return None


def run_check(result: RunResult, limits: Limits) -> Check:
    stop = describe_stop(result, limits)
    if stop is not None:
        return RUN.failed(stop)
    return RUN.passed(f"finished in {result.wall_seconds:.1f} s, peak memory "
                      f"{result.peak_memory_mb:.0f} MB")
