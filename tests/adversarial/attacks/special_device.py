# attack: predictions.csv as a device node (/dev/zero, /dev/mem) or, failing that, a Unix socket
# category: special files
# expect: graded, score 0; mknod is refused; the socket is skipped: not a regular file
# detail: /output/predictions.csv was not collected: predictions.csv \(not a regular file\)
# stdout: mknod .*: refused
import os
import socket
import stat

made = False
for major, minor in ((1, 5), (1, 1)):
    try:
        os.mknod("/output/predictions.csv", stat.S_IFCHR | 0o666, os.makedev(major, minor))
        print(f"BREACH: mknod {major},{minor} worked")
        made = True
        break
    except OSError as exc:
        print(f"mknod {major},{minor}: refused ({exc.strerror})")
if not made:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind("/output/predictions.csv")
    server.listen(1)
    print("bound a socket at predictions.csv", flush=True)
