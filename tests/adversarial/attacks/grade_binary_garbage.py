# attack: predictions.csv made of random bytes and NULs
# category: grading integrity
# expect: graded, score 0; refused as not UTF-8 text
# detail: is not UTF-8 text
import os

with open("/output/predictions.csv", "wb") as handle:
    handle.write(b"customer_id,churn_probability\n\x00\xff\xfe" + os.urandom(512 * 1024))
