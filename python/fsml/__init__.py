"""fsml from Python: versioned datasets, fsml's C++ data loader, and a client
of the model-serving API.

    import fsml
    with fsml.open_workspace("fsml-quickstart") as ws:
        train = ws.dataset("fashion@v1").split("train")
        for images, labels in train.loader(batch_size=128, mean=0.286, std=0.353):
            ...                                   # float32 (N, 1, 28, 28), int64 (N,)
    client = fsml.Client("http://127.0.0.1:8080", token=TOKEN)
    client.predict("fashion@production", open("shoe.png", "rb").read()).label

The walk-through is docs/python.md. Errors are the classes of fsml.errors
(also importable from here): fsml.NotFound, fsml.InvalidArgument,
fsml.ClosedError, fsml.Unauthenticated, fsml.Unavailable, ...
"""
from . import _fsml
from ._datasets import Dataset, DatasetDiff, Item, Loader, Workspace, open_workspace
from .client import Client, Job, JobResult, LabelProbability, Prediction
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _error_names

__version__ = _fsml.__version__

__all__ = ["open_workspace", "Workspace", "Dataset", "DatasetDiff", "Item", "Loader", "TorchIterableDataset",
           "Client", "Prediction", "LabelProbability", "Job", "JobResult"] + _error_names


def __getattr__(name):
    # torch is imported only by those who use the adapter (it takes a second).
    if name == "TorchIterableDataset":
        from .torch_data import TorchIterableDataset
        return TorchIterableDataset
    raise AttributeError(f"module 'fsml' has no attribute {name!r}")
