# attack: a million tiny files in /output, then in /tmp
# category: output
# expect: graded, score 0; /output fills up (ENOSPC), the copy-out stops at output_files (output
#   limit); /tmp's files are capped and charged to the run
# limits: wall_seconds=15, output_files=64
# detail: wrote more than the output limit|stopped after the 15 s time limit|ran out of memory
# stdout: /output: \d+ files, then (ENOSPC|EDQUOT)
import errno
import os

for area in ("/output", "/tmp"):
    made = 0
    try:
        for index in range(1_000_000):
            if index % 10_000 == 0:
                os.makedirs(f"{area}/many/{index // 10_000}", exist_ok=True)
            with open(f"{area}/many/{index // 10_000}/{index}", "wb") as handle:
                handle.write(b"x")
            made += 1
        print(f"{area}: {made} files, all made", flush=True)
    except OSError as exc:
        print(f"{area}: {made} files, then {errno.errorcode.get(exc.errno)}", flush=True)
