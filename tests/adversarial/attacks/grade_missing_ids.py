# attack: predicts only the customers it is sure about (a third of the ids)
# category: grading integrity
# expect: graded, score 0; the missing ids are counted and named
# detail: 1000 of 1500 test ids have no prediction
import pandas as pd

test = pd.read_csv("/data/test.csv").iloc[::3]
pd.DataFrame({"customer_id": test["customer_id"], "churn_probability": 0.5}).to_csv(
    "/output/predictions.csv", index=False)
