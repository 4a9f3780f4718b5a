# attack: io_uring (whose submissions bypass per-syscall filtering) and userfaultfd, from the job, a
#   thread, a child, a fresh exec and the 32-bit int 0x80 entry
# category: privilege
# expect: graded, score 0; io_uring_setup/enter/register and userfaultfd fail with ENOSYS or EPERM
#   everywhere
# detail: /output/predictions.csv was not written
# stdout: main: io_uring_setup blocked
# stdout: thread: io_uring_setup blocked
# stdout: child: io_uring_setup blocked
# stdout: exec: io_uring_setup blocked
# stdout: int80: (io_uring_setup blocked|no 32-bit entry here)
# stdout: PROBE-COMPLETE
# warm: yes
import ctypes
import errno
import mmap
import os
import subprocess
import sys
import threading

PROBE = r'''
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
def verdict(name, result):
    err = ctypes.get_errno()
    if result >= 0:
        return f"BREACH: {name} returned {result}"
    if err in (errno.ENOSYS, errno.EPERM):
        return f"{name} blocked ({errno.errorcode[err]})"
    return f"BREACH: {name} reached the kernel ({errno.errorcode.get(err, err)})"
lines = [verdict("io_uring_setup", libc.syscall(425, 8, params)),
         verdict("io_uring_enter", libc.syscall(426, 0, 0, 0, 0, None, 0)),
         verdict("io_uring_register", libc.syscall(427, 0, 0, None, 0)),
         verdict("userfaultfd", libc.syscall(323, os.O_CLOEXEC))]
'''


def probe() -> list:
    scope: dict = {}
    exec(PROBE, scope)
    return scope["lines"]


for line in probe():
    print("main:", line)
results: list = []
worker = threading.Thread(target=lambda: results.extend(probe()))
worker.start()
worker.join()
for line in results:
    print("thread:", line)
read_end, write_end = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(write_end, "\n".join(probe()).encode())
    os._exit(0)
os.close(write_end)
os.waitpid(pid, 0)
for line in os.read(read_end, 65536).decode().splitlines():
    print("child:", line)
code = PROBE + "\nprint('\\n'.join(lines))\n"
done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True)
for line in done.stdout.splitlines():
    print("exec:", line)
with open("/proc/self/status") as handle:
    print("seccomp state:", [line.strip() for line in handle if "Seccomp" in line])
# The 32-bit entry (int 0x80) has its own syscall table: io_uring_setup is 425 there too.
INT80 = bytes.fromhex("53" "b8a9010000" "bb08000000" "31c9" "cd80" "4863c0" "5b" "c3")
read_end, write_end = os.pipe()
pid = os.fork()
if pid == 0:
    page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(INT80)
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    result = ctypes.CFUNCTYPE(ctypes.c_long)(address)()
    os.write(write_end, str(result).encode())
    os._exit(0)
os.close(write_end)
_, status = os.waitpid(pid, 0)
answer = os.read(read_end, 64).decode()
if answer:
    err = -int(answer)
    if err in (errno.ENOSYS, errno.EPERM):
        print(f"int80: io_uring_setup blocked ({errno.errorcode[err]})")
    else:
        print(f"BREACH: int80: io_uring_setup reached the kernel ({errno.errorcode.get(err, err)})")
else:
    print(f"int80: no 32-bit entry here (child ended with status {status})")
print("PROBE-COMPLETE", flush=True)
