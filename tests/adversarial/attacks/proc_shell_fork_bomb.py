# attack: the shell fork bomb :(){ :|:& };: started through subprocess, then waits
# category: processes
# expect: graded, score 0; the pids limit holds, the wall limit ends it, nothing survives
# limits: wall_seconds=5, pids=64
# detail: stopped after the 5 s time limit
# run: timed_out=true limit=time
import subprocess
import time

subprocess.Popen(["bash", "-c", ":(){ :|:& };:"])
time.sleep(3600)
