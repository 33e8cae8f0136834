#!/usr/bin/python3
"""The peer for bench/train_bench.sh: one epoch of the same cnn-small in plain
PyTorch (Debian's python3-torch), fed by torchvision's ImageFolder and a
DataLoader reading the same PNGs fsml trains on. Prints JSON."""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F
import torchvision
from torchvision import transforms

# The same network fsml trains: the layer-for-layer mirror shipped with every
# model export (src/registry/fsml_model.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "registry"))
from fsml_model import CnnSmall  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="ImageFolder root (the train split)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=128)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tf = transforms.Compose([transforms.Grayscale(1), transforms.ToTensor(), transforms.Normalize((0.2860,), (0.3530,))])
    ds = torchvision.datasets.ImageFolder(args.data, transform=tf)
    dl = torch.utils.data.DataLoader(ds, batch_size=args.batch_size, shuffle=True, num_workers=args.workers)
    # cnn-small's defaults (docs/training.md): channels 32, 64; hidden 24; dropout 0.1.
    model = CnnSmall(1, 28, 28, 32, 64, 24, len(ds.classes), 0.1)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    model.train()
    n, correct, loss_sum = 0, 0, 0.0
    t0 = time.perf_counter()
    for x, y in dl:
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        opt.step()
        n += len(y)
        loss_sum += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
    s = time.perf_counter() - t0
    print(json.dumps({"samples": n, "seconds": s, "samples_per_second": n / s, "train_loss": loss_sum / n,
                      "train_accuracy": correct / n, "threads": args.threads, "workers": args.workers,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
