# attack: every test id twice, with opposite predictions, hoping one of them is scored
# category: grading integrity
# expect: graded, score 0; duplicate ids are refused by name
# detail: 1500 duplicate id\(s\)
import pandas as pd

test = pd.read_csv("/data/test.csv")
ids = list(test["customer_id"]) * 2
values = [0.0] * len(test) + [1.0] * len(test)
pd.DataFrame({"customer_id": ids, "churn_probability": values}).to_csv(
    "/output/predictions.csv", index=False)
