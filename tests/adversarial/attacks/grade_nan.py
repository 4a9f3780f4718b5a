# attack: NaN, inf and -inf as predictions
# category: grading integrity
# expect: graded, score 0; non-finite values are refused
# detail: 1500 value\(s\) of churn_probability are NaN or infinite
import pandas as pd

test = pd.read_csv("/data/test.csv")
values = [("nan", "inf", "-inf", "NaN")[index % 4] for index in range(len(test))]
pd.DataFrame({"customer_id": test["customer_id"], "churn_probability": values}).to_csv(
    "/output/predictions.csv", index=False)
