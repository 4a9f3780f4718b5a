# attack: sparse files in /output claiming 1 TB and 60 MB (bigger than the output cap)
# category: output
# expect: graded, score 0; the 1 TB one is refused (EFBIG), the other is not collected: output limit
# limits: file_size_mb=64, output_mb=32
# detail: wrote more than the output limit
# run: limit=output output_bytes<1024
# stdout: 1 TB: refused
import os

for name, size in (("huge.bin", 1 << 40), ("predictions.csv", 60 << 20)):
    fd = os.open(f"/output/{name}", os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        os.ftruncate(fd, size)
        print(f"{size >> 20} MB sparse file made", flush=True)
    except OSError as exc:
        print(f"{'1 TB' if size == 1 << 40 else name}: refused ({exc})", flush=True)
    finally:
        os.close(fd)
