"""Loads a model exported by `fsml models export` into PyTorch.

Needs only torch and numpy. The networks here mirror fsml's model zoo
layer for layer, with the same parameter names, so the weights in
model.safetensors load with strict=True.

    from fsml_model import load, preprocess
    model, spec = load("path/to/export")
    probs = model(preprocess(images, spec)).softmax(1)
"""
import json
import os
import struct

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def read_safetensors(path):
    """Returns {name: torch.Tensor} from a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        array = np.frombuffer(body[begin:end], dtype=np.dtype(_DTYPES[t["dtype"]]).newbyteorder("<"))
        tensors[name] = torch.from_numpy(array.reshape(t["shape"]).copy())
    return tensors


class Mlp(nn.Module):
    def __init__(self, inputs, hidden, classes, dropout):
        super().__init__()
        self.dropout = dropout
        self.hidden = []
        prev = inputs
        for i, h in enumerate(hidden):
            setattr(self, f"fc{i}", nn.Linear(prev, h))
            self.hidden.append(f"fc{i}")
            prev = h
        self.out = nn.Linear(prev, classes)

    def forward(self, x):
        x = x.flatten(1)
        for name in self.hidden:
            x = F.dropout(F.relu(getattr(self, name)(x)), self.dropout, self.training)
        return self.out(x)


class CnnSmall(nn.Module):
    def __init__(self, c, h, w, c1, c2, hidden, classes, dropout):
        super().__init__()
        self.dropout = dropout
        self.conv1 = nn.Conv2d(c, c1, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(c2)
        self.fc1 = nn.Linear(c2 * (h // 4) * (w // 4), hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.dropout(x.flatten(1), self.dropout, self.training)
        x = F.dropout(F.relu(self.fc1(x)), self.dropout, self.training)
        return self.fc2(x)


class BasicBlock(nn.Module):
    def __init__(self, inputs, out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)
        self.conv2 = nn.Conv2d(out, out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.down = stride != 1 or inputs != out
        if self.down:
            self.down_conv = nn.Conv2d(inputs, out, 1, stride=stride, bias=False)
            self.down_bn = nn.BatchNorm2d(out)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        skip = self.down_bn(self.down_conv(x)) if self.down else x
        return F.relu(y + skip)


class ResNet(nn.Module):
    def __init__(self, c, width, blocks, classes):
        super().__init__()
        self.stem = nn.Conv2d(c, width, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(width)
        self.blocks = []
        inputs = width
        for s, count in enumerate(blocks):
            out = width << s
            for b in range(count):
                setattr(self, f"stage{s}_{b}", BasicBlock(inputs, out, 2 if (b == 0 and s > 0) else 1))
                self.blocks.append(f"stage{s}_{b}")
                inputs = out
        self.fc = nn.Linear(inputs, classes)

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem(x)))
        for name in self.blocks:
            x = getattr(self, name)(x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def build(spec):
    """The untrained network a spec describes."""
    p, i, k = spec["params"], spec["input"], spec["classes"]
    c, h, w = i["channels"], i["height"], i["width"]
    if spec["model"] == "mlp":
        return Mlp(c * h * w, p["hidden"], k, p["dropout"])
    if spec["model"] == "cnn-small":
        return CnnSmall(c, h, w, p["channels"][0], p["channels"][1], p["hidden"], k, p["dropout"])
    if spec["model"] == "resnet":
        return ResNet(c, p["width"], p["blocks"], k)
    raise ValueError(f"unknown model {spec['model']!r}")


def load(folder):
    """(model in eval mode, spec) from an export folder."""
    with open(os.path.join(folder, "spec.json")) as f:
        spec = json.load(f)
    model = build(spec)
    model.load_state_dict(read_safetensors(os.path.join(folder, "model.safetensors")), strict=True)
    return model.eval(), spec


def preprocess(images, spec):
    """uint8 images (N, H, W) or (N, H, W, C) -> normalized float tensor (N, C, H, W)."""
    x = np.asarray(images, dtype=np.float32) / 255.0
    if x.ndim == 3:
        x = x[..., None]
    mean = np.asarray(spec["normalize"]["mean"], np.float32)
    std = np.asarray(spec["normalize"]["std"], np.float32)
    x = (x - mean) / std
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
