# attack: reads the hidden labels by every path it can think of: /data/.., the bundle's host path,
#   the repository, /proc/*/root
# category: grading integrity
# expect: graded, score 0; /data holds only the public files; no hidden path exists in the sandbox
# detail: /output/predictions.csv was not written
# stdout: /data holds \['test.csv', 'train.csv'\]
# stdout: PROBE-COMPLETE: 0 found
# warm: yes
import os

HIDDEN = "__HIDDEN_DIR__"
REPO_HIDDEN = "__REPO_HIDDEN_DIR__"
print("/data holds", sorted(os.listdir("/data")))
candidates = [
    "/data/../hidden/labels.csv", "/data/../../hidden/labels.csv", "/hidden/labels.csv",
    "/data/hidden/labels.csv", "/workspace/../hidden/labels.csv", "/challenges",
    f"{HIDDEN}/labels.csv", f"{HIDDEN}/canary.txt", f"{REPO_HIDDEN}/labels.csv",
    f"/proc/1/root{HIDDEN}/labels.csv", f"/proc/self/root{REPO_HIDDEN}/labels.csv",
    "/proc/1/cwd/../hidden/labels.csv", "/run/heldout/../hidden/labels.csv",
]
found = 0
for path in candidates:
    if os.path.exists(path):
        found += 1
        print(f"BREACH: {path} exists")
for name in sorted(os.listdir("/data")):
    with open(f"/data/{name}", "rb") as handle:
        header = handle.readline()
    if b"customer_id,churn\n" in header or b"canary" in header:
        print(f"BREACH: /data/{name} looks like the labels: {header[:80]!r}")
with open("/proc/self/mountinfo") as handle:
    mounts = handle.read()
if "hidden" in mounts or "challenges" in mounts:
    print("BREACH: a mount mentions the hidden data or the bundles")
print(f"PROBE-COMPLETE: {found} found", flush=True)
