"""A second seccomp filter, stacked on the engine's default profile before any job code runs.

The engine's default profile still allows io_uring (whose submissions bypass per-syscall
filtering) and userfaultfd (a staple of kernel exploits). Filters stack and can't be
removed, and no-new-privileges lets an unprivileged process install one, so whatever the
job does afterwards runs under both.
"""

import ctypes
import errno
import platform
import struct

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
LD_W_ABS = 0x20
JEQ_K = 0x15
JGE_K = 0x35
RET_K = 0x06

# (audit arch, userfaultfd number); io_uring_setup/enter/register are 425-427 everywhere.
ARCHES = {"x86_64": (0xC000003E, 323), "aarch64": (0xC00000B7, 282)}
IO_URING = (425, 426, 427)
X32_BIT = 0x40000000


def _insn(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)


def program():
    arch, userfaultfd = ARCHES[platform.machine()]
    denied = [*IO_URING, userfaultfd]
    deny = RET_ERRNO | errno.ENOSYS
    insns = [_insn(LD_W_ABS, 0, 0, 4)]  # seccomp_data.arch
    # Another architecture's syscall numbers mean something else: refuse them outright.
    tail = len(denied) + 3  # skips: load nr, x32 check, the comparisons, allow
    insns.append(_insn(JEQ_K, 0, tail, arch))
    insns.append(_insn(LD_W_ABS, 0, 0, 0))  # seccomp_data.nr
    remaining = len(denied) + 1
    insns.append(_insn(JGE_K, remaining, 0, X32_BIT))
    for index, number in enumerate(denied):
        insns.append(_insn(JEQ_K, len(denied) - index, 0, number))
    insns.append(_insn(RET_K, 0, 0, RET_ALLOW))
    insns.append(_insn(RET_K, 0, 0, deny))
    return insns


def install():
    insns = program()
    blob = ctypes.create_string_buffer(b"".join(insns))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(len(insns), ctypes.addressof(blob))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")
