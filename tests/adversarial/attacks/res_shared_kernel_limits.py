# attack: exhausts what the kernel counts per user, not per container: inotify instances, POSIX
#   message-queue bytes and pipe buffer pages (through a child), then lets a concurrent run start
# category: shared limits
# expect: graded, score 0; the concurrent neighbour run (another candidate, same sandbox uid)
#   still gets its inotify instance, message queue and 1 MB pipe
# needs: neighbour
# limits: wall_seconds=30
# detail: /output/predictions.csv was not written
# stdout: holding \d+ inotify instances, \d+ message queues, \d+ MB of pipes
import ctypes
import fcntl
import os
import time

F_SETPIPE_SZ = 1031
libc = ctypes.CDLL(None, use_errno=True)
rt = ctypes.CDLL("librt.so.1", use_errno=True)


class QueueAttr(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_long), ("maxmsg", ctypes.c_long), ("msgsize", ctypes.c_long),
                ("curmsgs", ctypes.c_long), ("reserved", ctypes.c_long * 4)]


instances = 0
while instances < 200 and libc.inotify_init1(0) >= 0:
    instances += 1
queues = 0
while queues < 64:
    attr = QueueAttr(0, 10, 8192)
    if rt.mq_open(f"/hoard{queues}".encode(), os.O_CREAT | os.O_RDWR, 0o600, ctypes.byref(attr)) < 0:
        break
    queues += 1
read_end, write_end = os.pipe()
if os.fork() == 0:  # its own descriptors: 120 pipes of 1 MB each
    os.closerange(3, write_end)
    os.closerange(write_end + 1, 4096)
    big = 0
    for _ in range(120):
        try:
            _, pipe_in = os.pipe()
            fcntl.fcntl(pipe_in, F_SETPIPE_SZ, 1 << 20)
            big += 1
        except OSError:
            break
    os.write(write_end, str(big).encode())
    time.sleep(60)
    os._exit(0)
os.close(write_end)
pipes = int(os.read(read_end, 16) or b"0")
print(f"holding {instances} inotify instances, {queues} message queues, {pipes} MB of pipes",
      flush=True)
with open("/output/neighbour-go", "w") as handle:
    handle.write("go\n")
time.sleep(10)  # the neighbour runs now
