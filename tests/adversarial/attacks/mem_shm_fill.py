# attack: fills /dev/shm (shared memory, writable) hoping it is neither capped nor charged
# category: memory
# expect: graded, score 0; /dev/shm is capped (64 MB) and private to the run: ENOSPC
# limits: memory_mb=512, file_size_mb=128
# detail: No space left on device|ran out of memory
# stdout: stopped after \d+ MB
import errno

written = 0
chunk = b"\x33" * (1024 * 1024)
try:
    with open("/dev/shm/fill", "wb") as handle:
        while True:
            handle.write(chunk)
            handle.flush()
            written += 1
except OSError as exc:
    print(f"stopped after {written} MB: {errno.errorcode.get(exc.errno)}", flush=True)
    raise
