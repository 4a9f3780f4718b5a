"""Every protection of the sandbox contract, as Docker SDK container options."""

from __future__ import annotations

import json
import math
from typing import Any

from docker.types import LogConfig, Mount, Ulimit

from heldout.sandbox import engine, seccomp
from heldout.sandbox.scratch import RunDir
from heldout.sandbox.settings import SandboxSettings
from heldout.sandbox.spec import CONTROL, DATA, HARNESS, LAUNCHER, OUTPUT, TMP, WORKSPACE, JobSpec

JOB_CPU_SHARES = 1024  # the engine's default weight
IDLE_CPU_SHARES = 2  # the lowest weight the kernel allows


def container_options(spec: JobSpec, rundir: RunDir, settings: SandboxSettings, *,
                      warm: bool = False, cgroup_parent: str | None = None) -> dict[str, Any]:
    """Every protection of the sandbox contract, as Docker SDK arguments.

    The command is always the in-image launcher, which stacks an extra seccomp filter
    before the job's own command runs; a cold job reaches it through HELDOUT_JOB, a warm
    container's job arrives later through its pipe.
    """
    limits = spec.limits
    mib = 1024 * 1024
    mounts = [
        Mount(WORKSPACE, str(rundir.workspace), type="bind", read_only=True),
        Mount(DATA, str(rundir.data), type="bind", read_only=True),
        # Always mounted, empty when the job has no harness: a warm container's mounts are
        # fixed before its job (and whether it has a harness) is known.
        Mount(HARNESS, str(rundir.harness), type="bind", read_only=True),
        Mount(OUTPUT, str(rundir.output), type="bind", read_only=False),
        Mount(CONTROL, str(rundir.control), type="bind", read_only=True),
    ]
    threads = str(max(1, math.ceil(limits.cpus)))
    environment = {
        "HELDOUT_DATA": DATA,
        "HELDOUT_OUTPUT": OUTPUT,
        "HOME": TMP,
        "USER": "sandbox",  # the run's uid has no passwd entry; getpass falls back on these
        "LOGNAME": "sandbox",
        "TMPDIR": TMP,
        "MPLCONFIGDIR": TMP,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        # scikit-learn sets these (if unset) when imported; set for every job, a warm
        # container's imports leave the environment as a cold start finds it.
        "KMP_DUPLICATE_LIB_OK": "True",
        "KMP_INIT_AT_FORK": "FALSE",
    }
    if warm:
        environment.update(spec.env)
    else:
        environment["HELDOUT_JOB"] = json.dumps({"argv": list(spec.command), "env": dict(spec.env),
                                                 "cwd": WORKSPACE})
    log_cap = max(64, (limits.log_bytes * 4) // 1024)
    runtime = settings.runtime  # e.g. runsc (gVisor), if installed
    return {
        **({"runtime": runtime} if runtime else {}),
        **({"cgroup_parent": cgroup_parent} if cgroup_parent else {}),
        "command": list(LAUNCHER),
        "user": f"{rundir.uid}:{rundir.uid}",
        "working_dir": WORKSPACE,
        "environment": environment,
        "labels": {**engine.ownership_labels(settings.owner_name),
                   engine.LABEL_RUNDIR: str(rundir.root),
                   **({engine.LABEL_WARM: "1"} if warm else {}), **dict(spec.labels)},
        "network_mode": "none",
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true",
                         *([profile] if (profile := seccomp.security_option()) else [])],
        "init": True,
        "ipc_mode": "private",
        "cgroupns": "private",
        "hostname": "sandbox",
        "mem_limit": limits.memory_mb * mib,
        "memswap_limit": limits.memory_mb * mib,
        "mem_swappiness": 0,
        "nano_cpus": int(limits.cpus * 1e9),
        # A warm container imports on spare cycles only; taking it raises its weight.
        "cpu_shares": IDLE_CPU_SHARES if warm else JOB_CPU_SHARES,
        "pids_limit": limits.pids,
        "ulimits": [
            Ulimit(name="nofile", soft=limits.nofile, hard=limits.nofile),
            Ulimit(name="fsize", soft=limits.file_size_mb * mib, hard=limits.file_size_mb * mib),
            Ulimit(name="core", soft=0, hard=0),
        ],
        "tmpfs": {TMP: f"rw,nosuid,nodev,size={limits.tmp_mb}m,mode=1777"},
        "shm_size": 64 * mib,
        "mounts": mounts,
        "log_config": LogConfig(type="json-file", config={"max-size": f"{log_cap}k", "max-file": "2"}),
        "stop_signal": "SIGKILL",
        "detach": True,
        # The client would otherwise copy the proxies of ~/.docker/config.json into the job.
        "use_config_proxy": False,
        "stdin_open": False,
        "tty": False,
    }
