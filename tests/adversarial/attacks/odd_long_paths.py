# attack: /output paths longer than PATH_MAX on the host: 15 nested 255-byte directory names and
#   255-byte file names, built with relative steps
# category: odd names
# expect: graded, score 0 (predictions.csv not written); the copy-out skips what it can't reach,
#   never an internal error
# detail: /output/predictions.csv was not written
# stdout: made \d+ levels
import os

os.chdir("/output")
levels = 0
for level in range(15):
    name = f"{level:02d}" + "d" * 253
    os.mkdir(name)
    os.chdir(name)
    levels += 1
    with open("f" * 255, "w") as handle:
        handle.write("deep\n")
print(f"made {levels} levels, {len(os.getcwd())} characters deep", flush=True)
