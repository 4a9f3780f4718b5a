# attack: fills /tmp (a 2 GB tmpfs) with a 256 MB memory limit, expecting the host to pay
# category: memory
# expect: graded, score 0; tmpfs pages are charged to the run: OOM-killed at 256 MB
# limits: memory_mb=256, tmp_mb=2048, file_size_mb=4096
# detail: ran out of memory: killed at the 256 MB limit
# run: oom_killed=true limit=memory
# forbid: wrote 2048 MB
import errno

written = 0
chunk = b"\xa5" * (1024 * 1024)
try:
    for index in range(4096):
        with open(f"/tmp/fill-{index // 256}", "ab") as handle:
            handle.write(chunk)
        written += 1
except OSError as exc:
    print(f"stopped after {written} MB: {errno.errorcode.get(exc.errno)}", flush=True)
    raise
print(f"wrote {written} MB into /tmp")
