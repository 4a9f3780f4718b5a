# attack: searches the whole file system and every process for the hidden labels (a canary planted
#   in each label row and the labels' header)
# category: grading integrity
# expect: graded, score 0; the canary and the labels header are found nowhere the candidate can read
# limits: wall_seconds=90
# detail: /output/predictions.csv was not written
# stdout: searched \d{4,} files
import os

NEEDLES = (bytes.fromhex("__LABEL_CANARY_HEX__"), b"customer_id,churn\n",
           b"customer_id,churn\r\n")
SKIP = ("/proc", "/sys", "/dev")
files = 0
size = 0
for root, dirs, names in os.walk("/", followlinks=False):
    if root.startswith(SKIP):
        dirs[:] = []
        continue
    for name in names:
        path = os.path.join(root, name)
        try:
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as handle:
                data = handle.read(64 * 1024 * 1024)
        except OSError:
            continue
        files += 1
        size += len(data)
        for needle in NEEDLES:
            if needle in data:
                print(f"BREACH: {needle[:20]!r}… found in {path}")
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    for part in ("environ", "cmdline"):
        try:
            with open(f"/proc/{pid}/{part}", "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        if NEEDLES[0] in data:
            print(f"BREACH: the canary is in /proc/{pid}/{part}")
print(f"searched {files} files, {size // (1024 * 1024)} MB", flush=True)
