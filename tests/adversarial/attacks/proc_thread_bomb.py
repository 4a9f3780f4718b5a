# attack: starts threads until the system refuses
# category: processes
# expect: graded, score 0; thread creation fails at the pids limit, reported as such
# limits: pids=64
# detail: failed after hitting the limit of 64 processes/threads
# run: limit=processes
# stdout: refused after \d+ threads
import threading
import time

threads = 0
try:
    while True:
        threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
        threads += 1
except RuntimeError as exc:
    print(f"refused after {threads} threads: {exc}", flush=True)
    raise
