# attack: odd names and deep nesting in /output, checked on the sandbox's own copy-out report
# category: odd names
# expect: the run succeeds; non-UTF-8, control-character and too-deep entries are skipped and named,
#   the good file is copied
# route: run
# run: exit_code=0 output_bytes=6
# detail: name is not printable UTF-8
# detail: line\\nbreak|'line\\nbreak'
# detail: nested too deeply
import os

for raw in (b"/output/\xff\xfe-not-utf8", b"/output/line\nbreak", b"/output/\x1b[31mred"):
    with open(raw, "wb") as handle:
        handle.write(b"odd\n")
deep = "/output/" + "/".join(["d"] * 200)
os.makedirs(deep)
with open(deep + "/deep.txt", "w") as handle:
    handle.write("too deep\n")
with open("/output/good.txt", "w") as handle:
    handle.write("fine!\n")
