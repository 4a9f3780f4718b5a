# attack: hard links in /output to files of the image, /proc, the data mount and host canaries
# category: links
# expect: graded, score 0; every hard link across file systems is refused (EXDEV/ENOENT/EPERM)
# detail: /output/predictions.csv was not written
# stdout: PROBE-COMPLETE: 0 linked
import json
import os

sources = ["/etc/passwd", "/etc/shadow", "/proc/self/environ", "/data/test.csv",
           "/workspace/solution.py", "/opt/heldout/launch.py", "/tmp/mine",
           *json.loads('__HOST_FILES__'), "__HIDDEN_DIR__/labels.csv"]
with open("/tmp/mine", "w") as handle:
    handle.write("made in the sandbox\n")
linked = 0
for index, source in enumerate(sources):
    name = "/output/predictions.csv" if index == 0 else f"/output/link-{index}"
    try:
        os.link(source, name)
        linked += 1
        print(f"linked {source} -> {name}")
    except OSError as exc:
        print(f"refused: {source}: {exc.strerror}")
print(f"PROBE-COMPLETE: {linked} linked", flush=True)
