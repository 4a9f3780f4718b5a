# attack: looks for processes to trace or read the memory of: anything not the sandbox's own
# category: privilege
# expect: graded, score 0; only the run's own processes (its own uid) are visible; nothing privileged
#   to attach to
# detail: /output/predictions.csv was not written
# stdout: PROBE-COMPLETE: [1-9] processes visible
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH, PTRACE_DETACH, PTRACE_TRACEME = 16, 17, 0
pids = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
for pid in pids:
    try:
        with open(f"/proc/{pid}/status") as handle:
            status = handle.read()
    except OSError:
        continue
    uid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:")))
    if uid != os.getuid():
        print(f"BREACH: process {pid} of uid {uid} is visible")
if len(pids) > 10:
    print(f"BREACH: {len(pids)} processes visible: the host's PID space leaks")
for pid in (2, 100, 1000, 4194304):  # host-side numbers that exist outside this namespace
    if pid in pids:
        continue
    if libc.ptrace(PTRACE_ATTACH, pid, None, None) == 0:
        print(f"BREACH: attached to pid {pid}, which this sandbox can't see")
        libc.ptrace(PTRACE_DETACH, pid, None, None)
for pid in pids:  # peek at another sandbox process's memory (same run, same user: allowed)
    if pid == os.getpid():
        continue
    try:
        with open(f"/proc/{pid}/mem", "rb") as handle:
            handle.read(1)
        print(f"read /proc/{pid}/mem of a process of this run")
    except OSError as exc:
        print(f"refused: /proc/{pid}/mem: {exc.strerror}")
print(f"PROBE-COMPLETE: {len(pids)} processes visible", flush=True)
