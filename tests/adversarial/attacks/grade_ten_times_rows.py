# attack: the real rows plus nine times as many rows for ids that don't exist
# category: grading integrity
# expect: graded, score 0; the unknown ids are refused
# detail: 13500 row\(s\) with ids that are not in the test set
import pandas as pd

test = pd.read_csv("/data/test.csv")
ids = list(test["customer_id"]) + [f"X{index:07d}" for index in range(9 * len(test))]
pd.DataFrame({"customer_id": ids, "churn_probability": 0.5}).to_csv(
    "/output/predictions.csv", index=False)
