# attack: leaves state in every writable place and in IPC objects, then looks for it the next run
# category: output
# expect: graded, score 0 each time; nothing of the first run is visible in the second
# runs: 2
# detail: /output/predictions.csv was not written
# stdout: left \d+ markers
# warm: yes
import mmap
import os
import socket
import time

FILES = ["/tmp/heldout-marker", "/tmp/.hidden/marker", "/output/.marker", "/dev/shm/marker"]
found = [path for path in FILES if os.path.exists(path)]
for path in found:
    print(f"BREACH: {path} survives from an earlier run")
try:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.connect("\0heldout-marker")
    print("BREACH: an abstract socket of an earlier run answers")
except OSError:
    pass
left = 0
for path in FILES:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write("earlier run was here\n")
        left += 1
    except OSError as exc:
        print(f"can't leave {path}: {exc.strerror}")
shared = mmap.mmap(-1, 4096)
shared.write(b"earlier run was here")
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind("\0heldout-marker")
listener.listen(1)
left += 1
if os.fork() == 0:  # a child that would keep the socket open, if anything let it live on
    os.setsid()
    import time

    time.sleep(3600)
print(f"left {left} markers", flush=True)
