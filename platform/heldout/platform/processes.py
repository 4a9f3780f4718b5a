"""Stopping the platform's child processes (web, worker) gracefully, then firmly."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Sequence


def stop_processes(processes: Sequence[tuple[subprocess.Popen[bytes], signal.Signals]],
                   timeout: float = 30) -> None:
    """Ask each process to stop with its graceful signal; then SIGTERM; then SIGKILL."""
    for process, stop_signal in processes:
        if process.poll() is None:
            process.send_signal(stop_signal)
    for escalation, grace in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        deadline = time.monotonic() + grace
        for process, _ in processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.send_signal(escalation)
    for process, _ in processes:
        process.wait()
