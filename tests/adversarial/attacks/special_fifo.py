# attack: predictions.csv is a FIFO (a reader on the host would block forever)
# category: special files
# expect: graded, score 0; the FIFO is skipped, nothing blocks: not a regular file
# limits: wall_seconds=10
# detail: /output/predictions.csv was not collected: predictions.csv \(not a regular file\)
# max-wall: 5
import os

os.mkfifo("/output/predictions.csv")
os.mkfifo("/output/model.pkl")
print("fifos made", flush=True)
