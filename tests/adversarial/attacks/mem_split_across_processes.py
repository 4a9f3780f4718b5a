# attack: stays under the memory limit per process: 8 children of 100 MB each
# category: memory
# expect: graded, score 0; the limit covers the whole run: a child is OOM-killed
# limits: memory_mb=256, pids=64
# detail: ran out of memory|killed by SIGKILL|exited with code
# run: oom_killed=true
import os
import time

children = []
for _ in range(8):
    pid = os.fork()
    if pid == 0:
        hoard = bytearray(100 * 1024 * 1024)
        for offset in range(0, len(hoard), 4096):
            hoard[offset] = 1
        time.sleep(2)
        os._exit(0)
    children.append(pid)
failed = 0
for pid in children:
    _, status = os.waitpid(pid, 0)
    if status != 0:
        failed += 1
print(f"{failed} of {len(children)} children died", flush=True)
raise SystemExit(3 if failed else 0)
