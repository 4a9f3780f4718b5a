# attack: makes device nodes (memory, disks, the tty) in /tmp and /output and opens host devices
# category: privilege
# expect: graded, score 0; mknod is refused everywhere; no raw device is reachable
# detail: /output/predictions.csv was not written
# stdout: PROBE-COMPLETE: 0 made
import os
import stat

made = 0
for place in ("/tmp", "/output", "/dev/shm"):
    for name, kind, major, minor in (("mem", stat.S_IFCHR, 1, 1), ("kmem", stat.S_IFCHR, 1, 2),
                                     ("vda", stat.S_IFBLK, 254, 0), ("sda", stat.S_IFBLK, 8, 0),
                                     ("tty", stat.S_IFCHR, 5, 0)):
        try:
            os.mknod(f"{place}/{name}", kind | 0o666, os.makedev(major, minor))
            made += 1
            print(f"BREACH: mknod {place}/{name}")
        except OSError as exc:
            print(f"refused: mknod {place}/{name}: {exc.strerror}")
for device in ("/dev/mem", "/dev/kmem", "/dev/port", "/dev/vda", "/dev/sda", "/dev/kmsg",
               "/dev/fuse", "/dev/net/tun", "/proc/kcore"):
    try:
        fd = os.open(device, os.O_RDONLY)
        os.read(fd, 16)
        os.close(fd)
        print(f"BREACH: read {device}")
    except OSError as exc:
        print(f"refused: {device}: {exc.strerror}")
print(f"PROBE-COMPLETE: {made} made", flush=True)
