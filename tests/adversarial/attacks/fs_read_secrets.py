# attack: hunts for credentials: /etc/shadow, every process's environment, the Docker socket,
#   proxies, env secrets
# category: filesystem
# expect: graded, score 0; nothing secret is readable: no socket, no secret env, blank proxies
# needs: env_secret
# detail: /output/predictions.csv was not written
# stdout: PROBE-COMPLETE
# warm: yes
import glob
import os
import stat

secret = bytes.fromhex("__ENV_SECRET_HEX__")
for path in ("/etc/shadow", "/etc/gshadow", "/root/.docker/config.json", "/root/.bash_history"):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        print(f"BREACH: read {path} ({len(data)} bytes)")
    except OSError as exc:
        print(f"refused: {path}: {exc.strerror}")
for path in ("/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
             "/var/run/docker", "/run/docker", "/run/containerd"):
    if os.path.lexists(path):
        print(f"BREACH: {path} exists")
for root in ("/run", "/var/run", "/tmp", "/dev", "/workspace", "/data", "/output", "/opt"):
    for dirpath, _, files in os.walk(root):
        for name in files:
            try:
                if stat.S_ISSOCK(os.lstat(os.path.join(dirpath, name)).st_mode):
                    print(f"BREACH: a socket at {os.path.join(dirpath, name)}")
            except OSError:
                pass
for name in ("HELDOUT_SECRET_KEY", "HELDOUT_ADVERSARIAL_SECRET", "AWS_SECRET_ACCESS_KEY",
             "DATABASE_URL", "HELDOUT_DATABASE_URL", "DOCKER_HOST", "DOCKER_CONFIG"):
    if name in os.environ:
        print(f"BREACH: {name} is set in the sandbox")
for name in ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "http_proxy",
             "https_proxy", "ftp_proxy", "no_proxy", "ALL_PROXY", "all_proxy"):
    if os.environ.get(name):
        print(f"BREACH: proxy {name}={os.environ[name]!r}")
sources = ["/proc/self/environ", "/proc/self/cmdline", "/proc/self/mountinfo",
           *glob.glob("/proc/[0-9]*/environ"), *glob.glob("/proc/[0-9]*/cmdline"),
           "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"]
seen = 0
for path in sources:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        continue
    seen += 1
    if secret in data:
        print(f"BREACH: the host's secret is in {path}")
    if b"docker.sock" in data:
        print(f"BREACH: {path} mentions docker.sock")
print(f"read {seen} process and config files", flush=True)
print("PROBE-COMPLETE", flush=True)
