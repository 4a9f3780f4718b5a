# attack: numpy arrays of 80 GB, then 2 GB filled with ones
# category: memory
# expect: graded, score 0; numpy refuses the first, the second is OOM-killed
# limits: memory_mb=256
# detail: ran out of memory|MemoryError
# run: limit=memory|none
import numpy as np

try:
    giant = np.ones((100_000, 100_000))
except MemoryError as exc:
    print("refused:", exc, flush=True)
big = np.ones((16_384, 16_384))
print("2 GB array filled: the memory limit did not hold", big.sum())
