# attack: double fork + setsid daemon that tries to outlive the run and write results late
# category: processes
# expect: graded, score 0; the daemon dies with the container (no sandbox-uid process on the host),
#   its late file is never collected
# limits: wall_seconds=10
# detail: /output/predictions.csv was not written
# run: exit_code=0 timed_out=false
# max-wall: 6
# warm: yes
import os
import signal
import sys
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(number, signal.SIG_IGN)
        os.chdir("/")
        devnull = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        time.sleep(2)  # long after the parent is gone
        with open("/output/predictions.csv", "w") as handle:
            handle.write("customer_id,churn_probability\n")
        while True:
            time.sleep(1)
    os._exit(0)
os.wait()
print("daemon launched; leaving", flush=True)
sys.exit(0)
