# attack: reaches the internet: TCP to public addresses (v4 and v6), UDP, HTTP by name
# category: network
# expect: graded, score 0; only a loopback interface exists; every attempt fails at once
# limits: wall_seconds=20
# detail: /output/predictions.csv was not written
# stdout: interfaces: \['lo'\]
# stdout: PROBE-COMPLETE
# max-wall: 15
import socket
import urllib.request

print("interfaces:", sorted(name for _, name in socket.if_nameindex()))
for family, address in ((socket.AF_INET, ("1.1.1.1", 443)), (socket.AF_INET, ("8.8.8.8", 53)),
                        (socket.AF_INET, ("93.184.215.14", 80)),
                        (socket.AF_INET6, ("2606:4700:4700::1111", 443))):
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(3)
            sock.connect(address)
        print(f"BREACH: connected to {address}")
    except OSError as exc:
        print(f"refused: tcp {address}: {exc}")
try:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01",
                    ("8.8.8.8", 53))
        sock.settimeout(2)
        sock.recvfrom(512)
    print("BREACH: a UDP answer came back from 8.8.8.8")
except OSError as exc:
    print(f"refused: udp 8.8.8.8:53: {exc}")
try:
    urllib.request.urlopen("http://example.com/", timeout=3)
    print("BREACH: fetched http://example.com/")
except OSError as exc:
    print(f"refused: http://example.com/: {exc}")
print("PROBE-COMPLETE", flush=True)
