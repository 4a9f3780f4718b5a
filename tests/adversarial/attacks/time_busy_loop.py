# attack: a busy loop that never ends
# category: time
# expect: graded, score 0; killed at the wall-time limit, CPU time charged
# limits: wall_seconds=5
# detail: stopped after the 5 s time limit
# run: timed_out=true limit=time cpu_seconds>0.5
# warm: yes
while True:
    pass
