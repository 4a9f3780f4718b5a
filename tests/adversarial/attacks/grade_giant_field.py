# attack: a predictions file under the size cap whose single field is 1.5 MB long
# category: grading integrity
# expect: graded, score 0; the CSV reader's field limit refuses it cleanly (no grader crash)
# detail: not valid CSV|field larger than field limit
import pandas as pd

test = pd.read_csv("/data/test.csv")
with open("/output/predictions.csv", "w") as handle:
    handle.write("customer_id,churn_probability\n")
    handle.write(f"{test['customer_id'][0]},0.{'5' * (1536 * 1024)}\n")
