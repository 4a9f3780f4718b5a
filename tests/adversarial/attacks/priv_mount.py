# attack: mount, remount, unmount, bind, chroot and pivot_root via the C library
# category: privilege
# expect: graded, score 0; every call is refused (EPERM)
# detail: /output/predictions.csv was not written
# stdout: PROBE-COMPLETE: 0 worked
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
MS_REMOUNT, MS_BIND = 32, 4096
os.makedirs("/tmp/mnt", exist_ok=True)
calls = {
    "mount tmpfs on /tmp/mnt": lambda: libc.mount(b"none", b"/tmp/mnt", b"tmpfs", 0, None),
    "mount proc on /tmp/mnt": lambda: libc.mount(b"proc", b"/tmp/mnt", b"proc", 0, None),
    "bind / onto /tmp/mnt": lambda: libc.mount(b"/", b"/tmp/mnt", None, MS_BIND, None),
    "remount / read-write": lambda: libc.mount(None, b"/", None, MS_REMOUNT, None),
    "remount /data read-write": lambda: libc.mount(None, b"/data", None, MS_REMOUNT, None),
    "umount /output": lambda: libc.umount2(b"/output", 2),
    "umount /proc/sys": lambda: libc.umount2(b"/proc/sys", 2),
    "chroot /tmp": lambda: libc.chroot(b"/tmp"),
    "pivot_root": lambda: libc.syscall(155, b"/tmp", b"/tmp/mnt"),
}
worked = 0
for label, call in calls.items():
    result = call()
    if result == 0:
        worked += 1
        print(f"BREACH: {label} worked")
    else:
        print(f"refused: {label}: {os.strerror(ctypes.get_errno())}")
print(f"PROBE-COMPLETE: {worked} worked", flush=True)
