"""The container-wide seccomp profile: every x86-64 system call of the kernel's table
except those that widen the kernel's attack surface or escape the sandbox.

It applies to every process of the container, docker-init (PID 1) included, so no
process the job can reach (by ptrace, /proc/<pid>/mem or otherwise) is left unfiltered.
System calls newer than the table are refused too: the profile is an allow-list.

The table ships with the package (``syscalls-x86_64.txt``, one ``name number`` a line), so
the profile can be rebuilt and checked on any host, with or without kernel headers:

    python -m heldout.sandbox.seccomp table /usr/include/x86_64-linux-gnu/asm/unistd_64.h \
        > syscalls-x86_64.txt     # once per kernel table update (Debian's linux-libc-dev)
    python -m heldout.sandbox.seccomp profile > seccomp-profile.json
"""

from __future__ import annotations

import functools
import json
import platform
import re
import sys
from pathlib import Path
from typing import Any

PROFILE_FILE = Path(__file__).with_name("seccomp-profile.json")
TABLE_FILE = Path(__file__).with_name("syscalls-x86_64.txt")
EPERM = 1
ENOSYS = 38

DENIED = frozenset({
    # Asynchronous I/O whose submissions bypass per-call filtering; page-fault handling
    # that kernel exploits lean on; programmable kernel code; performance counters.
    "io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd", "bpf",
    "perf_event_open",
    # Other processes: tracing, reading or writing their memory, stealing their files.
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    # Namespaces and mounts (a user namespace hands out capabilities inside it).
    "unshare", "setns", "mount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount",
    "fspick", "move_mount", "open_tree", "mount_setattr",
    # The kernel keyring, modules, kexec, reboot, swap, accounting, quotas.
    "keyctl", "add_key", "request_key", "init_module", "finit_module", "delete_module",
    "create_module", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "acct",
    "quotactl", "quotactl_fd",
    # Clocks, ports, the kernel log, file handles, NUMA placement, obsolete calls.
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "ioperm", "iopl", "syslog",
    "open_by_handle_at", "name_to_handle_at", "lookup_dcookie", "nfsservctl", "uselib",
    "ustat", "sysfs", "vhangup", "mbind", "set_mempolicy", "move_pages", "migrate_pages",
    "fanotify_init", "get_kernel_syms", "query_module", "_sysctl", "afs_syscall", "tuxcall",
    "security", "vserver", "putpmsg", "getpmsg",
    # Handled below with argument checks or a specific error.
    "clone", "clone3", "personality",
})

# clone() may create threads and processes, never new namespaces.
CLONE_NAMESPACE_FLAGS = 0x7E020000  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
# personality(): querying and the plain Linux personalities only.
ALLOWED_PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)


def syscall_table(header_text: str) -> dict[str, int]:
    """The system calls a kernel header defines, by name."""
    return {name: int(number) for name, number
            in re.findall(r"^#define __NR_(\w+)\s+(\d+)", header_text, re.MULTILINE)}


def format_table(table: dict[str, int]) -> str:
    return "".join(f"{name} {number}\n" for name, number in sorted(table.items(), key=lambda i: i[1]))


def shipped_table() -> dict[str, int]:
    table: dict[str, int] = {}
    for line in TABLE_FILE.read_text().splitlines():
        name, number = line.split()
        table[name] = int(number)
    return table


def syscall_names(table: dict[str, int]) -> list[str]:
    return sorted(table)


def build_profile(names: list[str]) -> dict[str, Any]:
    allowed = [name for name in names if name not in DENIED]
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EPERM,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": allowed, "action": "SCMP_ACT_ALLOW"},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0,
                       "op": "SCMP_CMP_MASKED_EQ"}]},
            # glibc falls back to clone() when clone3() is "not implemented"; clone3's
            # flags live in memory, out of a filter's reach.
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS},
            *({"names": ["personality"], "action": "SCMP_ACT_ALLOW",
               "args": [{"index": 0, "value": value, "op": "SCMP_CMP_EQ"}]}
              for value in ALLOWED_PERSONALITIES),
        ],
    }


@functools.lru_cache(maxsize=1)
def security_option() -> str | None:
    """``seccomp=<profile>`` for the engine, or None where the profile doesn't apply
    (another architecture: the engine's default profile and the launcher's filter stay)."""
    if platform.machine() != "x86_64":
        return None
    return "seccomp=" + json.dumps(json.loads(PROFILE_FILE.read_text()), separators=(",", ":"))


USAGE = """usage: python -m heldout.sandbox.seccomp table HEADER   (HEADER: asm/unistd_64.h)
       python -m heldout.sandbox.seccomp profile        (from the shipped table)"""


def main(argv: list[str]) -> int:
    if argv[:1] == ["table"] and len(argv) == 2:
        sys.stdout.write(format_table(syscall_table(Path(argv[1]).read_text())))
        return 0
    if argv == ["profile"]:
        print(json.dumps(build_profile(syscall_names(shipped_table())), indent=1))
        return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
