# attack: writes one file in /output bigger than the file-size limit, with SIGXFSZ at its default
# category: output
# expect: graded, score 0; the write is refused at file_size_mb (SIGXFSZ kill or EFBIG)
# limits: file_size_mb=16, output_mb=32
# detail: file size limit|File too large
# run: output_bytes<16777217
import signal

signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it; the C default kills
with open("/output/predictions.csv", "wb") as handle:
    handle.write(b"customer_id,churn_probability\n")
    while True:
        handle.write(b"C000000,0.5\n" * 65536)
