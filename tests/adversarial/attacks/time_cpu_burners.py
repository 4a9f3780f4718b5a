# attack: 64 processes each burning a CPU
# category: time
# expect: graded, score 0; killed at the wall limit; the CPU quota holds (about one CPU, not 64)
# limits: wall_seconds=5, pids=100
# detail: stopped after the 5 s time limit
# run: timed_out=true limit=time cpu_seconds<8.5 cpu_seconds>0.5
import os

children = 0
for _ in range(64):
    if os.fork() == 0:
        while True:
            pass
    children += 1
print("burners started:", children, flush=True)
while True:
    os.wait()
