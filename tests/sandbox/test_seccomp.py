"""The committed seccomp profile: what it allows, and that it is what its generator makes."""

from __future__ import annotations

import json
from pathlib import Path

from heldout.sandbox import seccomp

HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")


def committed() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(seccomp.PROFILE_FILE.read_text())
    return loaded


def allowed_names() -> set[str]:
    rules = committed()["syscalls"]
    assert isinstance(rules, list)
    return {name for rule in rules if rule["action"] == "SCMP_ACT_ALLOW" and "args" not in rule
            for name in rule["names"]}


def test_profile_is_an_allow_list_without_the_dangerous_calls() -> None:
    profile = committed()
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    allowed = allowed_names()
    assert {"read", "write", "openat", "mmap", "execve", "wait4", "futex", "seccomp"} <= allowed
    for name in ("io_uring_setup", "io_uring_enter", "ptrace", "unshare", "setns", "mount", "bpf",
                 "userfaultfd", "keyctl", "process_vm_writev", "clone", "clone3"):
        assert name not in allowed, name


def test_clone_may_not_create_namespaces() -> None:
    rules = committed()["syscalls"]
    assert isinstance(rules, list)
    (clone,) = [rule for rule in rules if rule["names"] == ["clone"]]
    (condition,) = clone["args"]
    assert condition["op"] == "SCMP_CMP_MASKED_EQ" and condition["valueTwo"] == 0
    assert condition["value"] & 0x10000000  # CLONE_NEWUSER


def test_committed_profile_matches_the_generator() -> None:
    # Runs everywhere: the system-call table it needs ships with the package.
    generated = seccomp.build_profile(seccomp.syscall_names(seccomp.shipped_table()))
    assert generated == committed(), ("regenerate: python -m heldout.sandbox.seccomp profile "
                                      f"> {seccomp.PROFILE_FILE}")


def test_shipped_table_is_the_x86_64_system_call_table() -> None:
    table = seccomp.shipped_table()
    # Numbers of the x86-64 ABI, fixed forever once assigned.
    assert {"read": 0, "write": 1, "execve": 59, "clone": 56, "ptrace": 101,
            "io_uring_setup": 425, "clone3": 435}.items() <= table.items()
    assert len(set(table.values())) == len(table), "two names share a number"
    assert seccomp.TABLE_FILE.read_text() == seccomp.format_table(table), "not in canonical form"


def test_table_generator_reads_a_kernel_header() -> None:
    header = """#ifndef _ASM_UNISTD_64_H
#define _ASM_UNISTD_64_H
#define __NR_read 0
#define __NR_write 1
#define __NR_io_uring_setup 425
#endif /* _ASM_UNISTD_64_H */
"""
    table = seccomp.syscall_table(header)
    assert table == {"read": 0, "write": 1, "io_uring_setup": 425}
    assert seccomp.format_table(table) == "read 0\nwrite 1\nio_uring_setup 425\n"


def test_shipped_table_matches_this_hosts_header_when_it_has_one() -> None:
    """Where Debian's linux-libc-dev is installed, the shipped table must not be older
    than it (a newer kernel's calls would otherwise be refused by the allow-list)."""
    if not HEADER.exists():
        # Nothing to compare on this host; the table itself is checked above.
        assert seccomp.shipped_table()
        return
    host = seccomp.syscall_table(HEADER.read_text())
    assert seccomp.shipped_table() == host, ("regenerate: python -m heldout.sandbox.seccomp table "
                                             f"{HEADER} > {seccomp.TABLE_FILE}")
