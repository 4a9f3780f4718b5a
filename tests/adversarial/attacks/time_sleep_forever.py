# attack: sleeps forever without using any CPU
# category: time
# expect: graded, score 0; killed at the wall-time limit (idle time counts too)
# limits: wall_seconds=5
# detail: stopped after the 5 s time limit
# run: timed_out=true limit=time cpu_seconds<2
import time

time.sleep(10**9)
