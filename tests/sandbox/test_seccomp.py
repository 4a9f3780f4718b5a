"""The committed seccomp profile: what it allows, and that it is what its generator makes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
    if not HEADER.exists():
        pytest.skip(f"{HEADER} (Debian's linux-libc-dev) is not installed")
    generated = seccomp.build_profile(seccomp.syscall_names(HEADER.read_text()))
    assert generated == committed(), ("regenerate: python -m heldout.sandbox.seccomp "
                                      f"{HEADER} > {seccomp.PROFILE_FILE}")
