# attack: ignores every catchable signal (and so does a child), then never finishes
# category: time
# expect: graded, score 0; the kill at the wall limit is SIGKILL, which can't be ignored
# limits: wall_seconds=5
# detail: stopped after the 5 s time limit
# run: timed_out=true limit=time
import contextlib
import os
import signal
import time

for number in range(1, signal.NSIG):
    if number in (signal.SIGKILL, signal.SIGSTOP):
        continue
    with contextlib.suppress(OSError, ValueError, RuntimeError):
        signal.signal(number, signal.SIG_IGN)
with contextlib.suppress(OSError):
    os.setsid()  # its own session: a kill aimed at the group would miss it
if os.fork() == 0:
    while True:
        time.sleep(1)
while True:
    time.sleep(1)
