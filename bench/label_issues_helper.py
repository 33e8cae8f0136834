#!/usr/bin/python3
"""Helper for bench/label_issues_bench.sh (Debian's python3-numpy and python3-pil only).

  names                       the ten Fashion-MNIST class names, comma-separated, in label-value order
  flip SRC DST FLIPS          write DST/train-{images-idx3,labels-idx1}-ubyte: Fashion-MNIST's training
                              images (all, or the first --n) with --frac of the labels changed to
                              another class, chosen with --seed; FLIPS (.npz) keeps the clean and the
                              given labels and which were flipped
  score FLIPS EXPORT EVAL     match `fsml data export --format jsonl` items to the idx images by their
                              pixels, and score the eval's label issues against the flips; prints JSON

Item ids are the SHA-256 of the PNG fsml encodes from the idx pixels, which
this script cannot reproduce; so every exported PNG is decoded and its 784
raw pixel bytes are looked up in the original images. An image that occurs
more than once maps to all its indexes; an item counts as flipped when its
given label is none of the clean labels of the matching image(s).
"""
import argparse
import gzip
import hashlib
import json
import os
import struct
import sys

import numpy as np
from PIL import Image

NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path, magic):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if magic == 0x803:
        m, n, h, w = struct.unpack(">IIII", data[:16])
        assert m == magic, path
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, h * w)
    m, n = struct.unpack(">II", data[:8])
    assert m == magic, path
    return np.frombuffer(data, np.uint8, offset=8)


def flip(args):
    images = read_idx(os.path.join(args.src, "train-images-idx3-ubyte.gz"), 0x803)
    clean = read_idx(os.path.join(args.src, "train-labels-idx1-ubyte.gz"), 0x801)
    if args.n:
        images, clean = images[:args.n], clean[:args.n]
    n, k = len(clean), len(NAMES)
    rng = np.random.default_rng(args.seed)
    picked = np.sort(rng.choice(n, size=round(n * args.frac), replace=False))
    given = clean.copy()
    given[picked] = (clean[picked] + rng.integers(1, k, size=len(picked))) % k  # always another class
    os.makedirs(args.dst, exist_ok=True)
    with open(os.path.join(args.dst, "train-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + images.tobytes())
    with open(os.path.join(args.dst, "train-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + given.tobytes())
    np.savez(args.flips, images=images, clean=clean, given=given, flipped=picked, seed=args.seed, frac=args.frac)
    print(json.dumps({"images": n, "flipped": int(len(picked)), "seed": args.seed, "frac": args.frac}))


def score(args):
    f = np.load(args.flips)
    images, clean, given_idx = f["images"], f["clean"], f["given"]
    by_pixels = {}
    for i, row in enumerate(images):
        by_pixels.setdefault(hashlib.sha256(row.tobytes()).digest(), []).append(i)
    duplicate_images = sum(len(v) - 1 for v in by_pixels.values())
    ev = json.load(open(args.eval))
    split = ev["split"]
    issues = ev.get("label_issues")
    if issues is None:
        sys.exit("score: the eval JSON has no label_issues (was --find-label-issues given?)")
    flagged = {x["item"] for x in issues}
    items, flipped, split_ids, unmatched = 0, set(), set(), 0
    given_mismatch = 0
    with open(os.path.join(args.export, "data.jsonl")) as lines:
        for line in lines:
            r = json.loads(line)
            if r["split"] != split:
                continue
            items += 1
            split_ids.add(r["id"])
            with Image.open(os.path.join(args.export, r["image"])) as im:
                px = np.array(im.convert("L"), dtype=np.uint8).tobytes()
            idx = by_pixels.get(hashlib.sha256(px).digest())
            if idx is None:
                unmatched += 1
                continue
            label = NAMES.index(r["label"])
            if label not in {int(given_idx[i]) for i in idx}:
                given_mismatch += 1  # the export's label is not what the idx file said: a broken round trip
            if label not in {int(clean[i]) for i in idx}:
                flipped.add(r["id"])
    outside = len(flagged - split_ids)
    tp = len(flagged & flipped)
    out = {
        "split": split, "items": items, "eval_items": ev["metrics"]["items"], "flipped": len(flipped),
        "flagged": len(flagged), "true_positives": tp,
        "precision": tp / len(flagged) if flagged else 0.0, "recall": tp / len(flipped) if flipped else 0.0,
        "flagged_outside_split": outside, "unmatched_items": unmatched, "label_mismatches": given_mismatch,
        "duplicate_images_in_source": duplicate_images,
        "flipped_in_source": int(len(f["flipped"])), "source_images": int(len(clean)),
        "baseline": None,
        "baseline_note": "skipped: the eval JSON holds the label issues and the evaluated model's in-sample metrics, "
                         "not the cross-validation's out-of-sample probabilities, so 'out-of-sample argmax != given "
                         "label' cannot be computed from it",
    }
    print(json.dumps(out))
    if unmatched or given_mismatch or outside or items != ev["metrics"]["items"]:
        sys.exit(f"score: inconsistent data: {unmatched} items not matched to an idx image, {given_mismatch} with a label "
                 f"the idx file did not give, {outside} flagged items outside the '{split}' split, {items} exported "
                 f"'{split}' items vs {ev['metrics']['items']} evaluated")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("names")
    a = sub.add_parser("flip")
    a.add_argument("src")
    a.add_argument("dst")
    a.add_argument("flips")
    a.add_argument("--frac", type=float, default=0.05)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--n", type=int, default=0, help="only the first N training images (0: all)")
    s = sub.add_parser("score")
    s.add_argument("flips")
    s.add_argument("export")
    s.add_argument("eval")
    args = p.parse_args()
    if args.cmd == "names":
        print(",".join(NAMES))
    elif args.cmd == "flip":
        flip(args)
    else:
        score(args)


if __name__ == "__main__":
    main()
