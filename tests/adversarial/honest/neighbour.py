"""A well-behaved run started beside an attack: what any run may use must still be there.

Prints ``BREACH: …`` for each resource it was denied, then ``NEIGHBOUR-COMPLETE``.
"""

import ctypes
import fcntl
import os
import threading

F_SETPIPE_SZ = 1031
libc = ctypes.CDLL(None, use_errno=True)


def report(what: str, ok: bool, why: str = "") -> None:
    print(f"{what}: ok" if ok else f"BREACH: the neighbour was denied {what} ({why})", flush=True)


fd = libc.inotify_init1(os.O_CLOEXEC)
report("an inotify instance", fd >= 0, os.strerror(ctypes.get_errno()))
if fd >= 0:
    watch = libc.inotify_add_watch(fd, b"/tmp", 0x100)  # IN_CREATE
    report("an inotify watch", watch >= 0, os.strerror(ctypes.get_errno()))


class QueueAttr(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_long), ("maxmsg", ctypes.c_long), ("msgsize", ctypes.c_long),
                ("curmsgs", ctypes.c_long), ("reserved", ctypes.c_long * 4)]


rt = ctypes.CDLL("librt.so.1", use_errno=True)
queue = rt.mq_open(b"/neighbour", os.O_CREAT | os.O_RDWR, 0o600, ctypes.byref(QueueAttr(0, 10, 8192)))
report("a POSIX message queue", queue >= 0, os.strerror(ctypes.get_errno()))
read_end, write_end = os.pipe()
try:
    fcntl.fcntl(write_end, F_SETPIPE_SZ, 1 << 20)
    report("a 1 MB pipe", True)
except OSError as exc:
    report("a 1 MB pipe", False, exc.strerror or "")
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
report("a child process", True)
worker = threading.Thread(target=lambda: None)
worker.start()
worker.join()
report("a thread", True)
with open("/tmp/neighbour.bin", "wb") as handle:
    handle.write(b"\0" * (8 << 20))
report("8 MB in /tmp", True)
print("NEIGHBOUR-COMPLETE", flush=True)
