# attack: fills /tmp past its size cap
# category: memory
# expect: graded, score 0; the write fails with ENOSPC at the /tmp cap (64 MB)
# limits: tmp_mb=64, memory_mb=512, file_size_mb=128
# detail: No space left on device
# stdout: stopped after (6[0-4]|5\d) MB: ENOSPC
import errno

written = 0
chunk = b"\x5a" * (1024 * 1024)
try:
    with open("/tmp/fill", "wb") as handle:
        while True:
            handle.write(chunk)
            handle.flush()
            written += 1
except OSError as exc:
    print(f"stopped after {written} MB: {errno.errorcode.get(exc.errno)}", flush=True)
    raise
