# attack: a 2 GB predictions.csv (valid rows, repeated), to exhaust the grader's memory
# category: grading integrity
# expect: graded, score 0; capped in the sandbox (ENOSPC at the output cap) and refused by size
#   before parsing
# limits: file_size_mb=4096, output_mb=32
# detail: predictions.csv is .* over the 2.0 MB limit|wrote more than the output limit
# stdout: stopped at \d+ MB
import pandas as pd

test = pd.read_csv("/data/test.csv")
block = "".join(f"{row},0.5\n" for row in test["customer_id"]).encode()
written = 0
try:
    with open("/output/predictions.csv", "wb") as handle:
        handle.write(b"customer_id,churn_probability\n")
        while written < 2 * 1024**3:
            handle.write(block)
            written += len(block)
except OSError as exc:
    print(f"stopped at {written // (1024 * 1024)} MB: {exc.strerror}", flush=True)
