# attack: waits for input on stdin, which would hang a job with an open stdin forever
# category: time
# expect: graded, score 0; stdin is closed, so the read ends at once (EOFError, no hang)
# limits: wall_seconds=10
# detail: EOFError
# run: timed_out=false exit_code=1
# stdout: stdin gave 0 bytes
# max-wall: 8
# warm: yes
import sys
import time

start = time.monotonic()
data = sys.stdin.buffer.read()
print(f"stdin gave {len(data)} bytes after {time.monotonic() - start:.2f} s", flush=True)
answer = input("your move: ")
print("read", answer)
