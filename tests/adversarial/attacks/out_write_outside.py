# attack: tries to write everywhere except /output and /tmp (code, data, system dirs, cgroup and
#   kernel knobs)
# category: output
# expect: graded, score 0; only /output, /tmp and the run's private /dev/shm are writable
# detail: /output/predictions.csv was not written
# stdout: PROBE-COMPLETE: 25 refused
import os

ALLOWED = ("/output", "/tmp", "/dev/shm")
TARGETS = [
    "/probe", "/etc/probe", "/etc/passwd", "/etc/hosts", "/etc/resolv.conf", "/usr/probe",
    "/usr/lib/python3.11/probe.py", "/opt/venv/lib/python3.11/site-packages/probe.pth",
    "/opt/heldout/launch.py", "/workspace/probe", "/workspace/solution.py", "/data/probe",
    "/data/train.csv", "/run/heldout/probe", "/var/tmp/probe", "/home/probe", "/root/probe",
    "/proc/sys/vm/drop_caches", "/proc/sysrq-trigger", "/proc/self/oom_score_adj",
    "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max",
    "/sys/kernel/mm/transparent_hugepage/enabled", "/dev/probe", "/dev/mqueue/probe",
    "/output/ok", "/tmp/ok", "/dev/shm/ok",
]
refused = 0
for path in TARGETS:
    try:
        # oom_score_adj accepts raising one's own score; writing -1000 would need a capability
        value = "-1000" if path.endswith("oom_score_adj") else "x"
        with open(path, "a") as handle:
            handle.write(value)
        where = os.path.dirname(path)
        if where.startswith(ALLOWED):
            print(f"writable as expected: {path}")
        else:
            print(f"BREACH: wrote {path}")
    except OSError as exc:
        refused += 1
        print(f"refused: {path}: {exc.strerror}")
print(f"PROBE-COMPLETE: {refused} refused", flush=True)
