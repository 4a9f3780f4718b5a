# attack: grows a list of fresh strings until something gives
# category: memory
# expect: graded, score 0; OOM-killed at the memory limit
# limits: memory_mb=256
# detail: ran out of memory: killed at the 256 MB limit
# run: oom_killed=true limit=memory
# warm: yes
hoard = []
while True:
    hoard.append("x" * 1_000_000 + str(len(hoard)))
