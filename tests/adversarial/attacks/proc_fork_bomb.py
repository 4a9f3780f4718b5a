# attack: classic Python fork bomb: every process forks forever
# category: processes
# expect: graded, score 0; the pids limit stops the growth, the wall limit ends it, nothing survives
# limits: wall_seconds=5, pids=64
# detail: stopped after the 5 s time limit
# run: timed_out=true limit=time
# warm: yes
import contextlib
import os

while True:
    with contextlib.suppress(OSError):
        os.fork()
