# attack: symlinks in /output to host files, /proc/self/environ, the hidden labels and a concurrent
#   run's output
# category: links
# expect: graded, score 0; no link is followed on the host: predictions.csv is reported as a
#   symbolic link
# needs: other_run
# detail: /output/predictions.csv was not collected: predictions.csv \(symbolic link, not followed\)
# stdout: PROBE-COMPLETE
import json
import os

OTHER = "__OTHER_RUN_DIR__"
HIDDEN = "__HIDDEN_DIR__"
targets = {
    "predictions.csv": "/proc/self/environ",
    "passwd": "/etc/passwd",
    "environ-of-init": "/proc/1/environ",
    "hidden-labels": f"{HIDDEN}/labels.csv",
    "other-run-secret": f"{OTHER}/output/secret.txt",
    "other-run-dir": f"{OTHER}/output",
    "host-root": "/",
    "up": "../../../../../../..",
    "host-files": json.loads('__HOST_FILES__')[0],
}
os.makedirs("/output/nested", exist_ok=True)
for name, target in targets.items():
    os.symlink(target, f"/output/{name}")
    os.symlink(target, f"/output/nested/{name}")
# Reading the targets directly from inside must not work either.
for target in (f"{HIDDEN}/labels.csv", f"{OTHER}/output/secret.txt", *json.loads('__HOST_FILES__')):
    try:
        with open(target, "rb") as handle:
            handle.read()
        print(f"BREACH: read {target}")
    except OSError as exc:
        print(f"refused: {target}: {exc.strerror}")
secret = bytes.fromhex("__VICTIM_SECRET_HEX__")
for root, _, files in os.walk("/", followlinks=False):
    if root.startswith(("/proc", "/sys")):
        continue
    for name in files:
        path = os.path.join(root, name)
        try:
            if os.path.isfile(path) and os.path.getsize(path) < 4096:
                with open(path, "rb") as handle:
                    if secret in handle.read():
                        print(f"BREACH: the other run's secret is readable at {path}")
        except OSError:
            pass
print("PROBE-COMPLETE", flush=True)
