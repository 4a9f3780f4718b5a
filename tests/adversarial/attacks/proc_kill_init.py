# attack: signals PID 1 (the container's init) and its parent, then kill(-1, SIGKILL)
# category: processes
# expect: graded, score 0; init ignores what it can't handle, the job kills only itself: a clean
#   verdict, never an internal error
# detail: killed by SIGKILL|exited with code|not written
# stdout: kill\(1, SIGKILL\)
import contextlib
import os
import signal

signal.signal(signal.SIGTERM, signal.SIG_IGN)
for target, number in ((1, signal.SIGTERM), (1, signal.SIGKILL), (1, signal.SIGSTOP),
                       (os.getppid(), signal.SIGKILL)):
    try:
        os.kill(target, number)
        print(f"kill({target}, {signal.Signals(number).name}) sent", flush=True)
    except OSError as exc:
        print(f"kill({target}, {signal.Signals(number).name}) refused: {exc}", flush=True)
with contextlib.suppress(OSError):
    os.kill(1, signal.SIGCONT)
print("now kill(-1, SIGKILL)", flush=True)
os.kill(-1, signal.SIGKILL)
