# attack: reads what the kernel tells about the host: kernel symbols, kcore, kmsg, timers, firmware,
#   cgroup limits of others, host block devices
# category: filesystem
# expect: graded, score 0; kernel addresses are hidden, sensitive /proc and /sys entries are masked
#   or unreadable, only the run's own cgroup is visible
# detail: /output/predictions.csv was not written
# stdout: PROBE-COMPLETE
import itertools
import os

with open("/proc/kallsyms") as handle:
    addresses = {line.split()[0] for line in itertools.islice(handle, 5000)}
if addresses - {"0000000000000000"}:
    print(f"BREACH: /proc/kallsyms shows kernel addresses, e.g. {sorted(addresses)[-1]}")
for path in ("/proc/kcore", "/proc/kmsg", "/dev/kmsg", "/proc/sysrq-trigger", "/proc/keys",
             "/proc/timer_list", "/proc/sched_debug", "/sys/firmware/efi/efivars",
             "/sys/kernel/debug", "/sys/kernel/security", "/proc/acpi"):
    try:
        if os.path.isdir(path):
            entries = os.listdir(path)
            if entries:
                print(f"BREACH: {path} lists {entries[:5]}")
            continue
        with open(path, "rb") as handle:
            data = handle.read(4096)
        if data:
            print(f"BREACH: read {len(data)} bytes of {path}")
        else:
            print(f"masked: {path} is empty")
    except OSError as exc:
        print(f"refused: {path}: {exc.strerror}")
for controller in ("memory", "pids", "cpu"):
    root = f"/sys/fs/cgroup/{controller}"
    if os.path.isdir(root):
        children = [entry for entry in os.listdir(root)
                    if os.path.isdir(os.path.join(root, entry))]
        if children:
            print(f"BREACH: {root} shows other cgroups: {children[:5]}")
with open("/proc/self/mountinfo") as handle:
    host_paths = sorted({line.split()[3] for line in handle if line.split()[3].startswith("/var/")})
print("host paths named by mountinfo (information only):", host_paths)
print("PROBE-COMPLETE", flush=True)
