# attack: good predictions plus 300 extra columns with 4 KB names, hoping to flood the verdict
#   an interviewer reads (and the database row that stores it)
# category: grading integrity
# expect: graded with the honest score; the extra columns are ignored, and every check detail
#   stays a short line
# score-min: 1
# score-max: 100
# detail: 1500 rows, one finite prediction per test id
import pandas as pd
from sklearn.linear_model import LogisticRegression

train = pd.read_csv("/data/train.csv")
test = pd.read_csv("/data/test.csv")
columns = ["tenure_months", "monthly_charges", "support_calls_90d", "late_payments_12m"]
model = LogisticRegression(max_iter=1000).fit(train[columns].fillna(0), train["churn"])
probability = model.predict_proba(test[columns].fillna(0))[:, 1]
extra = [f"{index:03d}" + "<script>alert(1)</script>" * 160 for index in range(300)]
with open("/output/predictions.csv", "w") as handle:
    handle.write(",".join(["customer_id", "churn_probability", *extra]) + "\n")
    padding = "," * len(extra)
    for row, value in zip(test["customer_id"], probability, strict=True):
        handle.write(f"{row},{value:.6f}{padding}\n")
print("predictions with", len(extra), "extra columns")
