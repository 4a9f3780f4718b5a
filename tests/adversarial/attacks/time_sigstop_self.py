# attack: stops itself (SIGSTOP), and its whole process group, so nothing ever exits
# category: time
# expect: graded, score 0; a stopped job still ends at the wall-time limit
# limits: wall_seconds=5
# detail: stopped after the 5 s time limit
# run: timed_out=true limit=time
import os
import signal

print("stopping myself", flush=True)
try:
    os.killpg(os.getpgrp(), signal.SIGSTOP)
except OSError as exc:
    print("killpg:", exc, flush=True)
os.kill(os.getpid(), signal.SIGSTOP)
print("resumed: nobody should ever continue me", flush=True)
while True:
    signal.pause()
