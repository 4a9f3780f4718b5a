# attack: reaches services of the host: a listener the test opens on 0.0.0.0 (TCP, UDP), via the
#   Docker gateway, every host address, and an abstract Unix socket
# category: network
# expect: graded, score 0; no connection, datagram or Unix connection reaches the host (the test's
#   listener counts none)
# needs: host_listener
# limits: wall_seconds=20
# detail: /output/predictions.csv was not written
# stdout: PROBE-COMPLETE
# max-wall: 15
import json
import socket

PORT = int("__HOST_PORT__")
addresses = sorted(set(json.loads('__HOST_ADDRS__')) | {"172.17.0.1", "127.0.0.1", "10.0.2.2"})
for address in addresses:
    for port in (PORT, 22, 2375, 2376, 5432, 6379, 8000, 5000):
        try:
            with socket.create_connection((address, port), timeout=2):
                print(f"BREACH: connected to {address}:{port}")
        except OSError as exc:
            print(f"refused: {address}:{port}: {exc.strerror or exc}")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"hello from the sandbox", (address, PORT))
        print(f"sent a datagram to {address}:{PORT} (the listener must not get it)")
    except OSError as exc:
        print(f"refused: udp {address}:{PORT}: {exc.strerror or exc}")
try:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect("\0__HOST_ABSTRACT__")
    print("BREACH: connected to the host's abstract Unix socket")
except OSError as exc:
    print(f"refused: abstract socket: {exc.strerror or exc}")
print("PROBE-COMPLETE", flush=True)
