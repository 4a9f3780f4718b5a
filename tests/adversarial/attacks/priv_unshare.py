# attack: new namespaces (user first, to gain root in it), via unshare(2), clone flags and the
#   unshare tool
# category: privilege
# expect: graded, score 0; every namespace creation is refused
# detail: /output/predictions.csv was not written
# stdout: PROBE-COMPLETE: 0 created
import ctypes
import os
import subprocess

libc = ctypes.CDLL(None, use_errno=True)
FLAGS = {"user": 0x10000000, "mount": 0x00020000, "net": 0x40000000, "pid": 0x20000000,
         "uts": 0x04000000, "ipc": 0x08000000, "cgroup": 0x02000000, "time": 0x00000080,
         "user+mount": 0x10020000}
created = 0
for name, flag in FLAGS.items():
    pid = os.fork()
    if pid == 0:  # in a child, so a success can't change the probe itself
        os._exit(0 if libc.unshare(flag) == 0 else 10 + ctypes.get_errno() % 100)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        created += 1
        print(f"BREACH: unshare({name}) worked")
    else:
        print(f"refused: unshare({name}): {os.strerror(code - 10)}")
for command in (["unshare", "-U", "-r", "id", "-u"], ["unshare", "-m", "true"],
                ["unshare", "-n", "true"]):
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=5)
        if done.returncode == 0:
            created += 1
            print(f"BREACH: {' '.join(command)} worked: {done.stdout.strip()}")
        else:
            print(f"refused: {' '.join(command)}: {done.stderr.strip()[:80]}")
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"refused: {command[0]}: {exc}")
print(f"PROBE-COMPLETE: {created} created", flush=True)
