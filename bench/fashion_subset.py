"""Writes the first N training and M test images of Fashion-MNIST as
uncompressed idx files, for benchmarks that need a small, real data set.

    fashion_subset.py SRC_DIR DST_DIR [N_TRAIN [N_TEST]]   (defaults 6000, 2000)
"""
import gzip
import os
import struct
import sys

src, dst = sys.argv[1], sys.argv[2]
counts = (("train", int(sys.argv[3]) if len(sys.argv) > 3 else 6000),
          ("t10k", int(sys.argv[4]) if len(sys.argv) > 4 else 2000))
os.makedirs(dst, exist_ok=True)
for prefix, n in counts:
    images = gzip.open(f"{src}/{prefix}-images-idx3-ubyte.gz").read()
    labels = gzip.open(f"{src}/{prefix}-labels-idx1-ubyte.gz").read()
    with open(f"{dst}/{prefix}-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + images[16:16 + n * 784])
    with open(f"{dst}/{prefix}-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + labels[8:8 + n])
