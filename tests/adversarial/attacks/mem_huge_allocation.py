# attack: asks for 64 GiB at once, then touches 4 GiB
# category: memory
# expect: graded, score 0; refused (MemoryError) or killed at the memory limit
# limits: memory_mb=256
# detail: ran out of memory|MemoryError
# run: exit_code=137|1 limit=memory|none
try:
    blob = bytearray(64 * 1024**3)
    print("64 GiB granted (lazily)", flush=True)
except MemoryError:
    print("64 GiB refused", flush=True)
blob = b"\x01" * (4 * 1024**3)
print("4 GiB filled: the memory limit did not hold", len(blob))
