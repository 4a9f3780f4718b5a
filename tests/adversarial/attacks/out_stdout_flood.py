# attack: writes 1 GB to stdout, hoping to fill the host's disk with container logs
# category: output
# expect: graded, score 0; the log is capped on disk and only the last log_bytes come back
# limits: wall_seconds=6, log_bytes=16384
# detail: stopped after the 6 s time limit|was not written
# run: stdout_chars<17000
import sys

line = b"A" * 1023 + b"\n"
block = line * 1024
out = sys.stdout.buffer
for _ in range(1024):
    out.write(block)
out.flush()
print("1 GB written", flush=True)
