# attack: fills the process table with zombies that are never reaped, then exits
# category: processes
# expect: graded, score 0; the pids limit caps the zombies; init reaps them; the run ends normally
# limits: pids=64
# detail: /output/predictions.csv was not written
# run: exit_code=0
# stdout: \d+ zombies, then refused
import os

zombies = 0
try:
    while True:
        if os.fork() == 0:
            os._exit(0)
        zombies += 1
except OSError as exc:
    print(f"{zombies} zombies, then refused: {exc}", flush=True)
