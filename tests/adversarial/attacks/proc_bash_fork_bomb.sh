#!/bin/bash
# attack: the shell fork bomb run as the job's own command (bash, no Python)
# category: processes
# expect: the run ends at the wall limit; the pids limit holds; no process outlives the container
# route: run
# limits: wall_seconds=5, pids=64
# run: timed_out=true limit=time
:(){ :|:& };:
wait
sleep 3600
