# attack: 256 MB on stdout as one single line with no newline, and the same on stderr
# category: output
# expect: graded, score 0; the tails stay within log_bytes; nothing of ours chokes on the line
# limits: wall_seconds=10, log_bytes=16384, memory_mb=1024
# detail: stopped after the 10 s time limit|was not written
# run: stdout_chars<17000 stderr_chars<17000
import sys

chunk = b"B" * (1024 * 1024)
for stream in (sys.stdout.buffer, sys.stderr.buffer):
    for _ in range(256):
        stream.write(chunk)
    stream.flush()
