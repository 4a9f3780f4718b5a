# attack: predictions.csv is a directory full of files, one of them named predictions.csv
# category: special files
# expect: graded, score 0; only a regular file at the exact name counts: not written
# detail: /output/predictions.csv was not written
import os

os.makedirs("/output/predictions.csv/predictions.csv")
with open("/output/predictions.csv/predictions.csv/predictions.csv", "w") as handle:
    handle.write("customer_id,churn_probability\n")
