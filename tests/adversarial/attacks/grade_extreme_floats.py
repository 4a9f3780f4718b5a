# attack: extreme floats: 1e308, -1e308, denormals, -0.0, hex floats, and one "1e999" that overflows
#   to inf
# category: grading integrity
# expect: graded, score 0; the overflowing value is refused as infinite; nothing of ours overflows
#   or crashes
# detail: 1 value\(s\) of churn_probability are NaN or infinite \(line \d+: '1e999'\)
import pandas as pd

test = pd.read_csv("/data/test.csv")
kinds = ("1e308", "-1e308", "5e-324", "-0.0", "0x1.8p1")
values = [kinds[index % len(kinds)] for index in range(len(test))]
values[-1] = "1e999"
pd.DataFrame({"customer_id": test["customer_id"], "churn_probability": values}).to_csv(
    "/output/predictions.csv", index=False)
