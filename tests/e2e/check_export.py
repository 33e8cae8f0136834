"""Checks an exported fsml model from plain Python: rebuilds the network with
the export's fsml_model.py (torch + numpy only), loads model.safetensors,
preprocesses the same image files and compares the class probabilities with
what `fsml predict --json` printed. Usage: check_export.py EXPORT_DIR PRED_JSON"""
import json
import sys

import numpy as np
import torch
from PIL import Image

folder, pred_path = sys.argv[1], sys.argv[2]
sys.path.insert(0, folder)
from fsml_model import load, preprocess  # noqa: E402

model, spec = load(folder)
pred = json.load(open(pred_path))["predictions"]
images = np.stack([np.asarray(Image.open(p["input"]).convert("L")) for p in pred])
with torch.no_grad():
    probs = model(preprocess(images, spec)).softmax(1).numpy()
want = np.array([p["probabilities"] for p in pred], dtype=np.float32)
diff = float(np.abs(probs - want).max())
print(f"{len(pred)} images, max abs diff {diff:.2e}")
if diff > 1e-5:
    sys.exit(f"python predictions differ from fsml's by {diff}")
