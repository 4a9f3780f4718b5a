# attack: non-UTF-8 names, newlines in names, 200-deep nesting and 255-byte names next to good
#   predictions
# category: odd names
# expect: graded with a real score; the odd entries are skipped, the honest predictions still count
# score-min: 1
# score-max: 100
# detail: 1500 rows, one finite prediction per test id
import os

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

for raw in (b"/output/\xff\xfe-not-utf8", b"/output/line\nbreak", b"/output/tab\there",
            b"/output/predictions.csv\n", b"/output/" + b"L" * 255, b"/output/\x1b[31mred"):
    with open(raw, "wb") as handle:
        handle.write(b"odd\n")
deep = "/output/" + "/".join(["d"] * 200)
os.makedirs(deep)
with open(deep + "/predictions.csv", "w") as handle:
    handle.write("customer_id,churn_probability\n")

train = pd.read_csv("/data/train.csv")
test = pd.read_csv("/data/test.csv")
columns = ["tenure_months", "monthly_charges", "support_calls_90d", "late_payments_12m"]
model = LogisticRegression(max_iter=1000).fit(train[columns].fillna(0), train["churn"])
probability = model.predict_proba(test[columns].fillna(0))[:, 1]
frame = pd.DataFrame({"customer_id": test["customer_id"], "churn_probability": probability})
frame.to_csv("/output/predictions.csv", index=False)
print("honest predictions written", np.round(probability[:3], 3))
