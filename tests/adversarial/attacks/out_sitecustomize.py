# attack: plants sitecustomize/usercustomize/.pth files in every writable place, hoping the next run
#   imports them
# category: output
# expect: graded, score 0 each time; the second run starts clean: no plant exists, none executes
# runs: 2
# detail: /output/predictions.csv was not written
# stdout: planted \d+ files
# warm: yes
import os
import subprocess
import sys

PAYLOAD = 'print("BREACH: code planted by an earlier run executed")\n'
PLACES = ["/tmp", "/output", "/dev/shm", "/workspace", "/data",
          "/tmp/.local/lib/python3.11/site-packages", "/opt/venv/lib/python3.11/site-packages"]
for place in PLACES:
    for name in ("sitecustomize.py", "usercustomize.py", "heldout_plant.pth"):
        if os.path.exists(os.path.join(place, name)):
            print(f"BREACH: {place}/{name} survives from an earlier run")
planted = 0
for place in PLACES:
    try:
        os.makedirs(place, exist_ok=True)
        for name, text in (("sitecustomize.py", PAYLOAD), ("usercustomize.py", PAYLOAD),
                           ("heldout_plant.pth", "import sys; " + PAYLOAD)):
            with open(os.path.join(place, name), "w") as handle:
                handle.write(text)
            planted += 1
    except OSError as exc:
        print(f"can't plant in {place}: {exc.strerror}")
print(f"planted {planted} files", flush=True)
# Does a fresh interpreter of this run pick a plant up? (It may: same run, same /tmp.)
child = subprocess.run([sys.executable, "-c", "pass"], capture_output=True, text=True, check=False)
print("a fresh interpreter in this run printed:", repr(child.stdout.replace("BREACH", "plant")))
