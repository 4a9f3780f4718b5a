# attack: words, lists, percentages and booleans where numbers belong
# category: grading integrity
# expect: graded, score 0; the values are refused as not numbers
# detail: value\(s\) of churn_probability are not numbers
import pandas as pd

test = pd.read_csv("/data/test.csv")
kinds = ("high", "[0.3]", "45%", "True", "0x1p-2j", "")
values = [kinds[index % len(kinds)] for index in range(len(test))]
pd.DataFrame({"customer_id": test["customer_id"], "churn_probability": values}).to_csv(
    "/output/predictions.csv", index=False)
