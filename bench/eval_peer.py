#!/usr/bin/python3
"""The peer for bench/eval_bench.sh: the evaluation `fsml eval` does, in plain
PyTorch + scikit-learn (Debian's python3-torch, python3-torchvision,
python3-sklearn). It loads the same model from `fsml models export` (its
fsml_model.py: load() and preprocess()), reads the same test PNGs from
`fsml data export --format imagefolder` with torchvision's ImageFolder and a
DataLoader (PIL decode), runs inference with the same thread count and batch
size, and computes the same metrics. Prints JSON.

Times, all from time.perf_counter() inside this process:
  imports  the `import` lines (numpy, torch, torchvision, PIL, sklearn)
  work     everything after the imports: load the model, read + decode +
           infer every image, compute the metrics
  predict  the part of `work` after the model is loaded (data + inference +
           metrics; what fsml's own reported `seconds` covers)
The interpreter's own start-up happens before any of these; the caller times
the whole process from outside."""
import time

T_START = time.perf_counter()
import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402
from PIL import Image  # noqa: E402
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, log_loss,  # noqa: E402
                             precision_recall_fscore_support, top_k_accuracy_score)

T_IMPORTED = time.perf_counter()


def folder_to_label(name):
    """fsml's FolderNameToLabel: a '/' in a label is written %2F in a folder name."""
    return name.replace("%2F", "/").replace("%2f", "/").replace("%25", "%")


class ToPixels:
    """PIL image -> uint8 array (H, W) or (H, W, C) in the model's channels and size."""

    def __init__(self, spec):
        i = spec["input"]
        self.mode = {1: "L", 3: "RGB"}[i["channels"]]
        self.size = (i["width"], i["height"])

    def __call__(self, img):
        img = img.convert(self.mode)
        if img.size != self.size:
            img = img.resize(self.size, Image.BILINEAR)
        return np.array(img, dtype=np.uint8)  # a writable copy (the DataLoader makes a tensor of it)


def open_image(path):
    with open(path, "rb") as f:
        img = Image.open(f)
        img.load()
        return img


def ece_15(probs, truth, bins=15):
    """Expected calibration error over equal-width bins of the top probability;
    bin i holds (i/B, (i+1)/B], bin 0 also holds 0 (as fsml's metrics do)."""
    conf = probs.max(1)
    correct = probs.argmax(1) == truth
    b = np.clip(np.ceil(conf * bins).astype(np.int64) - 1, 0, bins - 1)
    ece = 0.0
    for i in range(bins):
        m = b == i
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True, help="folder written by `fsml models export`")
    p.add_argument("--data", required=True, help="ImageFolder root (the test split of an imagefolder export)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--predictions", help="also write the probabilities here (.npy)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    sys.path.insert(0, args.model)
    from fsml_model import load, preprocess  # the export's own loader
    model, spec = load(args.model)
    labels = spec["labels"]
    t_loaded = time.perf_counter()

    ds = torchvision.datasets.ImageFolder(args.data, loader=open_image, transform=ToPixels(spec))
    to_index = [labels.index(folder_to_label(c)) for c in ds.classes]  # folder order -> the model's label order
    dl = torch.utils.data.DataLoader(ds, batch_size=args.batch_size, shuffle=False, num_workers=args.workers)
    probs, truth = [], []
    with torch.inference_mode():
        for x, y in dl:
            probs.append(model(preprocess(x.numpy(), spec)).softmax(1).numpy())
            truth.append(y.numpy())
    t_inferred = time.perf_counter()
    probs = np.concatenate(probs).astype(np.float64)  # float64: log_loss clips at float64's eps, as fsml (1e-15)
    y = np.asarray(to_index)[np.concatenate(truth)]
    k = len(labels)
    pred = probs.argmax(1)  # ties: the lowest index
    prec, rec, f1, support = precision_recall_fscore_support(y, pred, labels=range(k), zero_division=0)
    metrics = {
        "items": int(len(y)),
        "accuracy": accuracy_score(y, pred),
        "macro_f1": f1_score(y, pred, average="macro", zero_division=0),
        "weighted_f1": f1_score(y, pred, average="weighted", zero_division=0),
        "top_k": {"3": top_k_accuracy_score(y, probs, k=3, labels=range(k)),
                  "5": top_k_accuracy_score(y, probs, k=5, labels=range(k))},
        "log_loss": log_loss(y, probs, labels=range(k)),
        "ece": ece_15(probs, y),
        "per_class": [{"label": labels[c], "precision": float(prec[c]), "recall": float(rec[c]), "f1": float(f1[c]),
                       "support": int(support[c])} for c in range(k)],
        "confusion": confusion_matrix(y, pred, labels=range(k)).tolist(),
    }
    t_done = time.perf_counter()
    if args.predictions:
        np.save(args.predictions, probs.astype(np.float32))
    print(json.dumps({
        "metrics": metrics,
        "seconds": {"imports": T_IMPORTED - T_START, "work": t_done - T_IMPORTED, "load_model": t_loaded - T_IMPORTED,
                    "predict": t_done - t_loaded, "data_and_inference": t_inferred - t_loaded,
                    "metrics": t_done - t_inferred},
        "threads": args.threads, "workers": args.workers, "batch_size": args.batch_size,
        "torch": torch.__version__, "sklearn": __import__("sklearn").__version__,
    }))


if __name__ == "__main__":
    main()
