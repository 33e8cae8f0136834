#!/usr/bin/python3
"""The peer for bench/train_bench.sh: one epoch of the same cnn-small in plain
PyTorch (Debian's python3-torch), fed by torchvision's ImageFolder and a
DataLoader reading the same PNGs fsml trains on. Prints JSON."""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision import transforms


class CnnSmall(nn.Module):
    """fsml's cnn-small (src/ml/models.cc): two conv blocks and a small head."""

    def __init__(self, classes=10, c1=32, c2=64, hidden=24, dropout=0.25):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(c2)
        self.fc1 = nn.Linear(c2 * 7 * 7, hidden)
        self.fc2 = nn.Linear(hidden, classes)
        self.dropout = dropout

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.dropout(x.flatten(1), self.dropout, self.training)
        x = F.dropout(F.relu(self.fc1(x)), self.dropout, self.training)
        return self.fc2(x)


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
    model = CnnSmall(classes=len(ds.classes))
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
