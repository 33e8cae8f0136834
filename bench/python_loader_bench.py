#!/usr/bin/python3
"""Data loading from Python, side by side: fsml's `ds.loader()` against
torchvision's ImageFolder + DataLoader (num_workers 0 and 2) over the same
PNGs exported from the same version, both delivering normalized float32
batches of Fashion-MNIST's training split; then one training epoch of the
same small CNN fed by each, and by tensors already in memory (the model
alone). Run by bench/python_loader_bench.sh, which prepares the workspace and
the export; prints a Markdown table and writes JSON.

    python_loader_bench.py --ws WS --ref fashion@v1 --images EXPORT/train [--workers 2] [--threads 2]
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F
import torchvision
from torchvision import transforms

import fsml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src", "registry"))
from fsml_model import CnnSmall  # noqa: E402  the network fsml trains as cnn-small

MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST's training pixels
BATCH = 128


def timed_epoch(batches, step=None):
    """(samples, seconds) of one pass over `batches`, calling step(x, y) per batch."""
    n = 0
    t0 = time.perf_counter()
    for x, y in batches:
        if step is not None:
            step(x, y)
        n += len(y)
    return n, time.perf_counter() - t0


def peer_loader(images, workers):
    tf = transforms.Compose([transforms.Grayscale(1), transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    ds = torchvision.datasets.ImageFolder(images, transform=tf)
    return torch.utils.data.DataLoader(ds, batch_size=BATCH, shuffle=True, num_workers=workers,
                                       persistent_workers=False), len(ds.classes)


def trainer(classes, threads):
    torch.manual_seed(0)
    model = CnnSmall(1, 28, 28, 32, 64, 24, classes, 0.1)  # cnn-small's defaults (docs/training.md)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    model.train()

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return step


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ws", required=True)
    p.add_argument("--ref", default="fashion@v1")
    p.add_argument("--images", required=True, help="ImageFolder root: the same version's train split as PNGs")
    p.add_argument("--workers", type=int, default=2, help="fsml loader threads")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--no-train", action="store_true", help="loaders only")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    ws = fsml.open_workspace(args.ws)
    train = ws.dataset(args.ref).split("train")
    rows = []  # (what, samples/s, samples, seconds)

    # 1. Loading alone: normalized float32 batches of the whole split.
    loader = train.loader(batch_size=BATCH, shuffle=True, seed=0, workers=args.workers, mean=MEAN, std=STD,
                          as_torch=True)
    n, s = timed_epoch(loader)
    rows.append(("load", f"fsml ds.loader (workers={args.workers}), epoch 1: object store + PNG decode", n, s))
    n, s = timed_epoch(loader)
    rows.append(("load", f"fsml ds.loader (workers={args.workers}), epoch 2: decoded cache", n, s))
    classes = len(train.labels)
    for w in (0, 2):
        dl, classes = peer_loader(args.images, w)
        n, s = timed_epoch(dl)
        rows.append(("load", f"torchvision ImageFolder + DataLoader (num_workers={w})", n, s))

    # 2. One training epoch of cnn-small fed by each, and by tensors in memory.
    if not args.no_train:
        fresh = train.loader(batch_size=BATCH, shuffle=True, seed=1, workers=args.workers, mean=MEAN, std=STD,
                             as_torch=True)
        n, s = timed_epoch(fresh, trainer(classes, args.threads))
        rows.append(("train", f"cnn-small fed by fsml ds.loader (workers={args.workers}), epoch 1", n, s))
        for w in (0, 2):
            dl, _ = peer_loader(args.images, w)
            n, s = timed_epoch(dl, trainer(classes, args.threads))
            rows.append(("train", f"cnn-small fed by ImageFolder + DataLoader (num_workers={w})", n, s))
        in_memory = [(x.clone(), y.clone()) for x, y in loader]
        n, s = timed_epoch(in_memory, trainer(classes, args.threads))
        rows.append(("train", "cnn-small on batches already in memory (the model alone)", n, s))
    ws.close()

    table = []
    for kind in ("load", "train"):
        group = [r for r in rows if r[0] == kind]
        if not group:
            continue
        fsml_rate = group[0][2] / group[0][3]
        table.append(f"\n| {'loading' if kind == 'load' else 'one training epoch'} | samples | seconds | "
                     f"samples/s | fsml epoch 1 / this |")
        table.append("|---|---|---|---|---|")
        for _, what, n, s in group:
            table.append(f"| {what} | {n:,} | {s:.2f} | {n / s:,.0f} | {fsml_rate / (n / s):.2f}x |")
    header = (f"Fashion-MNIST {args.ref} train split, batch {BATCH}, normalized float32 NCHW; torch "
              f"{torch.__version__}, torchvision {torchvision.__version__}, {args.threads} torch threads, "
              f"{os.cpu_count()} cores")
    print(header)
    print("\n".join(table))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"header": header, "rows": [dict(zip(("kind", "what", "samples", "seconds"), r)) for r in rows]},
                      f, indent=1)


if __name__ == "__main__":
    main()
