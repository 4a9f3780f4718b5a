# attack: tries to become root: setuid/setgid, setgroups, setuid binaries, su, capabilities
# category: privilege
# expect: graded, score 0; every call is refused; no setuid binary exists; no capability,
#   no-new-privileges set
# detail: /output/predictions.csv was not written
# stdout: PROBE-COMPLETE
# warm: yes
import os
import stat
import subprocess

for label, call in (("setuid(0)", lambda: os.setuid(0)), ("setgid(0)", lambda: os.setgid(0)),
                    ("seteuid(0)", lambda: os.seteuid(0)),
                    ("setresuid(0,0,0)", lambda: os.setresuid(0, 0, 0)),
                    ("setgroups([0])", lambda: os.setgroups([0]))):
    try:
        call()
        print(f"BREACH: {label} worked")
    except OSError as exc:
        print(f"refused: {label}: {exc.strerror}")
if os.getuid() == 0 or os.geteuid() == 0:
    print("BREACH: running as root")
with open("/proc/self/status") as handle:
    status = handle.read()
for field in ("CapEff", "CapPrm", "CapBnd", "CapAmb", "CapInh"):
    value = next(line.split()[1] for line in status.splitlines() if line.startswith(field + ":"))
    if int(value, 16) != 0:
        print(f"BREACH: {field} is {value}")
if "NoNewPrivs:\t1" not in status:
    print("BREACH: no-new-privileges is off")
for root in ("/usr", "/bin", "/sbin", "/opt", "/lib", "/etc"):
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if stat.S_ISREG(mode) and mode & (stat.S_ISUID | stat.S_ISGID):
                print(f"BREACH: set-id binary {path}")
for command in (["su", "-c", "id -u", "root"], ["sudo", "-n", "id", "-u"]):
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=5, input="")
        if done.returncode == 0 and done.stdout.strip() == "0":
            print(f"BREACH: {command[0]} gave root")
        else:
            print(f"refused: {command[0]}: exit {done.returncode}")
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"refused: {command[0]}: {exc}")
print("PROBE-COMPLETE", flush=True)
