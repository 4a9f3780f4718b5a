# attack: opens 100,000 files and tries to raise its own file-descriptor limit
# category: output
# expect: graded, score 0; EMFILE at the nofile limit; the limit can't be raised
# limits: nofile=256
# detail: /output/predictions.csv was not written
# stdout: EMFILE after (2[0-5]\d|1\d\d) files
# stdout: raising the limit: refused
import errno
import resource

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard * 4, hard * 4))
    print("raising the limit: BREACH, it worked", flush=True)
except (ValueError, OSError) as exc:
    print(f"raising the limit: refused ({exc})", flush=True)
handles = []
try:
    for index in range(100_000):
        handles.append(open(f"/tmp/f{index % 1000}", "a"))  # noqa: SIM115 - kept open on purpose
except OSError as exc:
    print(f"{errno.errorcode.get(exc.errno)} after {len(handles)} files", flush=True)
