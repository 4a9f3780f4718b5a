# attack: DNS by name, straight to the configured resolvers and Docker's embedded one; raw and
#   packet sockets; netlink changes
# category: network
# expect: graded, score 0; nothing resolves, no resolver answers, raw sockets and interface changes
#   are refused
# limits: wall_seconds=20
# detail: /output/predictions.csv was not written
# stdout: PROBE-COMPLETE
# max-wall: 15
import socket

QUERY = b"\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04pypi\x03org\x00\x00\x01\x00\x01"
for name in ("pypi.org", "example.com", "host.docker.internal", "gateway.docker.internal",
             "localhost."):
    try:
        found = sorted({info[4][0] for info in socket.getaddrinfo(name, 443)})
        external = [a for a in found if not a.startswith(("127.", "::1"))]
        if external:
            print(f"BREACH: {name} resolved to {external}")
        else:
            print(f"{name}: loopback only {found}")
    except OSError as exc:
        print(f"refused: resolve {name}: {exc}")
with open("/etc/resolv.conf") as handle:
    servers = [line.split()[1] for line in handle if line.startswith("nameserver")]
for server in (*servers, "127.0.0.11", "8.8.8.8", "1.1.1.1"):
    try:
        with socket.socket(socket.AF_INET6 if ":" in server else socket.AF_INET,
                           socket.SOCK_DGRAM) as sock:
            sock.settimeout(2)
            sock.sendto(QUERY, (server, 53))
            sock.recvfrom(512)
        print(f"BREACH: resolver {server} answered")
    except OSError as exc:
        print(f"refused: resolver {server}: {exc}")
for label, args in (("raw ICMP", (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)),
                    ("packet", (socket.AF_PACKET, socket.SOCK_RAW, 0x0300))):
    try:
        socket.socket(*args).close()
        print(f"BREACH: opened a {label} socket")
    except OSError as exc:
        print(f"refused: {label} socket: {exc.strerror}")
# RTM_NEWADDR on lo: giving ourselves an address needs CAP_NET_ADMIN.
message = bytearray(40)
message[0:4] = (40).to_bytes(4, "little")
message[4:6] = (20).to_bytes(2, "little")  # RTM_NEWADDR
message[6:8] = (0x0001 | 0x0004 | 0x0400 | 0x0200).to_bytes(2, "little")  # REQUEST|ACK|CREATE|EXCL
message[16] = socket.AF_INET
message[17] = 24
message[20:24] = (1).to_bytes(4, "little")  # ifindex of lo
message[24:26] = (8).to_bytes(2, "little")
message[26:28] = (2).to_bytes(2, "little")  # IFA_LOCAL
message[28:32] = socket.inet_aton("10.99.0.1")
message[32:34] = (8).to_bytes(2, "little")
message[34:36] = (1).to_bytes(2, "little")  # IFA_ADDRESS
message[36:40] = socket.inet_aton("10.99.0.1")
with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as netlink:
    netlink.bind((0, 0))
    netlink.send(bytes(message))
    reply = netlink.recv(4096)
    error = -int.from_bytes(reply[16:20], "little", signed=True)
    if error == 0:
        print("BREACH: added an address to lo")
    else:
        print(f"refused: netlink RTM_NEWADDR: errno {error}")
print("PROBE-COMPLETE", flush=True)
