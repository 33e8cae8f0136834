"""Workspaces, dataset versions and the loader (the C++ core behind them is
fsml._fsml; see docs/python.md for a walk-through)."""
import collections
import numbers
import os
import threading

from . import _fsml
from .errors import ClosedError, InvalidArgument

__all__ = ["open_workspace", "Workspace", "Dataset", "DatasetDiff", "Item", "Loader"]

Item = collections.namedtuple("Item", ["content", "label", "item_id"])
Item.__doc__ = """One item of a dataset: ``content`` (``bytes`` of the image file for image
projects, ``str`` for text projects), its ``label`` name and its ``item_id``
(the SHA-256 of the bytes, hex)."""

DiffRow = collections.namedtuple("DiffRow", ["item_id", "label", "split"])
Relabel = collections.namedtuple("Relabel", ["item_id", "old", "new"])

# Items read per call when iterating a dataset (read in parallel, GIL released).
_READ_CHUNK = 256


def open_workspace(path=None):
    """Opens the fsml workspace at ``path`` (a folder holding ``fsml.toml``).

    Without ``path``: ``$FSML_WORKSPACE``, else the nearest folder at or above
    the current one that holds ``fsml.toml``, as the command line does. The
    stores are the ones its ``fsml.toml`` (and ``FSML_STORE_*`` variables)
    name: SQLite and local objects, or PostgreSQL and S3.

    Raises :class:`fsml.NotFound` when there is no workspace there. Use it as
    a context manager, or call :meth:`Workspace.close`.
    """
    if path is not None:
        path = os.fspath(path)
    return Workspace(_fsml.open_workspace(path))


class Workspace:
    """An open workspace. ``with fsml.open_workspace(p) as ws: ...`` closes it.

    After :meth:`close`, every use of it, of its datasets and of their loaders
    raises :class:`fsml.ClosedError`. Thread safety: may be shared by threads.
    """

    def __init__(self, native):
        self._native = native

    @property
    def root(self):
        """The workspace folder (absolute)."""
        return self._native.root

    @property
    def closed(self):
        return self._native.closed

    def dataset(self, ref):
        """The dataset version ``ref``: ``"fashion@v2"``, ``"fashion@gold"`` (a tag) or
        ``"fashion"`` (the latest version). Raises :class:`fsml.NotFound` for an
        unknown project, version or tag, :class:`fsml.InvalidArgument` for a
        malformed ref."""
        if not isinstance(ref, str):
            raise InvalidArgument(f"a dataset ref is a string like 'fashion@v2', not {type(ref).__name__}")
        return Dataset(self._native.dataset(ref))

    def projects(self):
        """Every project: name, task type, labels and counts, as dicts (as `fsml project list --json`)."""
        import json
        return json.loads(self._native.projects_json())

    def versions(self, project):
        """The versions of ``project``, newest first, as dicts (as `fsml data log --json`)."""
        import json
        return json.loads(self._native.versions_json(project))

    def close(self):
        """Stops the loaders made from this workspace (joining their threads) and
        closes its stores. Idempotent."""
        self._native.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return f"<fsml.Workspace {self.root}{' (closed)' if self.closed else ''}>"


class DatasetDiff:
    """What changed from one dataset to another (``a.diff(b)``): lists of
    ``added`` and ``removed`` rows ``(item_id, label, split)``, ``relabeled``
    rows ``(item_id, old, new)``, and the ``unchanged`` count."""

    def __init__(self, raw):
        self.added = [DiffRow(*r) for r in raw["added"]]
        self.removed = [DiffRow(*r) for r in raw["removed"]]
        self.relabeled = [Relabel(*r) for r in raw["relabeled"]]
        self.unchanged = raw["unchanged"]

    def __repr__(self):
        return (f"<fsml.DatasetDiff +{len(self.added)} -{len(self.removed)} "
                f"~{len(self.relabeled)} ={self.unchanged}>")


class Dataset:
    """An immutable dataset version, or one split of it (``ds.split("train")``).

    ``len(ds)``; ``ds[i]`` (negative ``i`` counts from the end; slices give a
    list) and ``for content, label, item_id in ds`` yield :class:`fsml.Item`
    tuples in item-id order. Items are read from the object store when asked
    for, a chunk at a time on several threads.
    """

    def __init__(self, native):
        self._native = native

    # -- what it is
    @property
    def ref(self):
        """``"fashion@v2"`` (the version this dataset is, or is a split of)."""
        return f"{self._native.project}@v{self._native.version}"

    @property
    def project(self):
        return self._native.project

    @property
    def version(self):
        """The version number (``2`` for ``fashion@v2``)."""
        return self._native.version

    @property
    def task(self):
        """``"image-classification"`` or ``"text-classification"``."""
        return self._native.task

    @property
    def split_name(self):
        """``"train"``, ``"val"`` or ``"test"`` for a split, None for a whole version."""
        return self._native.split

    @property
    def labels(self):
        """The label names, in the project's order (a batch's label index points into it)."""
        return self._native.labels

    @property
    def info(self):
        """The version's record: message, author, created_at, tags, parent, counts."""
        import json
        return json.loads(self._native.info_json)

    def split(self, name):
        """The rows of split ``name`` (``"train"``, ``"val"`` or ``"test"``) of this version."""
        return Dataset(self._native.only_split(name))

    # -- items
    def __len__(self):
        return len(self._native)

    def __getitem__(self, index):
        if isinstance(index, slice):
            begin, end, step = index.indices(len(self))
            if step == 1:
                return [Item(*t) for t in self._native.read(begin, end)] if begin < end else []
            return [self[i] for i in range(begin, end, step)]
        if not isinstance(index, numbers.Integral):
            raise TypeError(f"dataset indices are integers or slices, not {type(index).__name__}")
        n = len(self)
        i = int(index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"index {index} is out of range for {self!r}")
        return Item(*self._native.read(i, i + 1)[0])

    def __iter__(self):
        n = len(self)
        for begin in range(0, n, _READ_CHUNK):
            for t in self._native.read(begin, min(n, begin + _READ_CHUNK)):
                yield Item(*t)

    @property
    def item_ids(self):
        """The item ids, in order (no object is read)."""
        return self._native.columns()[0]

    def diff(self, other):
        """What changed from this dataset to ``other`` (a later version, usually):
        a :class:`DatasetDiff`, as ``fsml data diff`` shows it."""
        if not isinstance(other, Dataset):
            raise TypeError(f"diff() takes another fsml.Dataset, not {type(other).__name__}")
        return DatasetDiff(self._native.diff_to(other._native))

    def to_pandas(self, content=False):
        """A pandas DataFrame with one row per item: ``item_id``, ``label`` and
        ``split`` (categoricals), and with ``content=True`` the bytes or text
        too (reads every object). Needs pandas."""
        try:
            import pandas as pd
        except ImportError as e:
            raise ImportError("Dataset.to_pandas() needs pandas, which is not installed "
                              "(Debian: apt-get install python3-pandas; in a virtual environment: "
                              "pip install pandas)") from e
        ids, labels, splits = self._native.columns()
        columns = {
            "item_id": ids,
            "label": pd.Categorical(labels, categories=self.labels),
            "split": pd.Categorical(splits, categories=["train", "val", "test"]),
        }
        if content:
            columns["content"] = [item.content for item in self]
        return pd.DataFrame(columns)

    # -- the loader
    def channel_stats(self, channels=None, size=None, workers=2):
        """Per-channel ``(mean, std)`` lists of this split's pixels scaled to [0, 1]
        (one pass over it), for ``loader(mean=..., std=...)``."""
        options = _loader_options(batch_size=256, shuffle=False, drop_last=False, seed=0, workers=workers,
                                  prefetch=4, cache=False, channels=channels, size=size, mean=None,
                                  std=None, augment=None)
        mean, std = self._native.channel_stats(options)
        return list(mean), list(std)

    def loader(self, batch_size=128, shuffle=True, seed=0, transform=None, workers=2, *, mean=None, std=None,
               augment=None, drop_last=False, size=None, channels=None, prefetch=8, cache=True,
               as_torch=False, with_ids=False):
        """Batches of this split, decoded and normalized by fsml's C++ loader.

        Iterating the loader runs one epoch: ``for images, labels in loader``
        gives ``images`` as float32 ``(N, C, H, W)`` arrays scaled to [0, 1]
        and normalized per channel as ``(x - mean) / std``, and ``labels`` as
        int64 ``(N,)`` indexes into :attr:`labels`. Each new ``iter()`` is the
        next epoch (``set_epoch`` picks one); with the same ``seed`` and epoch
        the batches are the same whatever ``workers`` is.

        - ``workers``: the loader's threads (C++; 0 = one per core). They read,
          decode, augment and normalize whole batches ahead of the consumer
          (up to ``prefetch`` batches), without the GIL.
        - ``mean``, ``std``: a number or one per channel (e.g. from
          :meth:`channel_stats`); without them pixels stay in [0, 1].
        - ``augment``: ``"crop"``, ``"crop=2"``, ``"flip"``, ``"erase"`` or a
          comma-separated mix, as ``fsml train --augment``.
        - ``size``: ``(height, width)`` or one number to resize to;
          ``channels``: 1 or 3 to convert to (default: the first image's).
        - ``cache``: keep decoded pixels after the first epoch, so later epochs
          skip the object store and the decoder.
        - ``as_torch``: yield ``torch.Tensor`` instead of numpy arrays.
          Either way the arrays are the loader's own buffers, handed over
          without a copy.
        - ``with_ids``: yield ``(images, labels, item_ids)``.
        - ``transform``: a callable ``transform(images, labels) -> (images,
          labels)`` applied to each batch in the iterating thread, after
          normalization (it may change the arrays in place). If it raises,
          the loader's threads stop and the exception propagates with its
          traceback; the next ``iter()`` starts a fresh epoch.

        A loader serves one thread at a time: ``next()`` or ``iter()`` from a
        second thread while an epoch runs raises :class:`fsml.FailedPrecondition`.
        Raises :class:`fsml.FailedPrecondition` for a whole version (pick a
        split first) and :class:`fsml.InvalidArgument` for a text project or
        bad options.
        """
        if transform is not None and not callable(transform):
            raise InvalidArgument(f"transform must be callable, not {type(transform).__name__}")
        options = _loader_options(batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed,
                                  workers=workers, prefetch=prefetch, cache=cache, channels=channels,
                                  size=size, mean=mean, std=std, augment=augment)
        if as_torch:
            _import_torch()
        stream = self._native.make_stream(options)
        return Loader(stream, self, batch_size=batch_size, transform=transform, as_torch=as_torch,
                      with_ids=with_ids)

    def torch_dataset(self, **loader_options):
        """A ``torch.utils.data.IterableDataset`` over ``self.loader(**loader_options)``
        (see :class:`fsml.TorchIterableDataset`)."""
        from .torch_data import TorchIterableDataset
        return TorchIterableDataset(self.loader(**loader_options))

    def __repr__(self):
        try:
            split = f" split={self.split_name}" if self.split_name else ""
            return f"<fsml.Dataset {self.ref}{split}: {len(self):,} items, {len(self.labels)} labels>"
        except ClosedError:
            return "<fsml.Dataset of a closed workspace>"


def _per_channel(name, value):
    if value is None:
        return []
    if isinstance(value, numbers.Real):
        return [float(value)]
    try:
        return [float(v) for v in value]
    except TypeError:
        raise InvalidArgument(f"{name} must be a number or one number per channel, not {value!r}") from None


def _loader_options(*, batch_size, shuffle, drop_last, seed, workers, prefetch, cache, channels, size, mean,
                    std, augment):
    def whole(name, value, low, high):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
            raise InvalidArgument(f"{name} must be a whole number from {low} to {high}, not {value!r}")
        return int(value)

    if size is None:
        height = width = 0
    elif isinstance(size, numbers.Integral):
        height = width = whole("size", size, 1, 16384)
    else:
        try:
            height, width = (whole("size", s, 1, 16384) for s in size)
        except (TypeError, ValueError):
            raise InvalidArgument(f"size must be (height, width) or one number, not {size!r}") from None
    mean, std = _per_channel("mean", mean), _per_channel("std", std)
    if bool(mean) != bool(std):
        raise InvalidArgument("normalization needs both mean and std")
    if augment is not None and not isinstance(augment, str):
        raise InvalidArgument(f"augment is a string such as 'crop,flip', not {type(augment).__name__}")
    return {
        "batch_size": whole("batch_size", batch_size, 1, 65536),
        "shuffle": bool(shuffle),
        "drop_last": bool(drop_last),
        "seed": whole("seed", seed, 0, 2**64 - 1),
        "threads": whole("workers", workers, 0, 1024),
        "prefetch": whole("prefetch", prefetch, 1, 1024),
        "cache": bool(cache),
        "channels": 0 if channels is None else whole("channels", channels, 1, 3),
        "height": height,
        "width": width,
        "mean": mean,
        "std": std,
        "augment": augment or "",
    }


def _import_torch():
    try:
        import torch
    except ImportError as e:
        raise ImportError("as_torch=True needs PyTorch, which is not installed (Debian: apt-get install "
                          "python3-torch; a virtual environment made with --system-site-packages sees it)") from e
    return torch


class Loader:
    """Epochs of batches of one split; made by :meth:`Dataset.loader`.

    ``len(loader)`` is the number of batches per epoch. ``close()`` (or
    leaving a ``with`` block) stops its threads and frees its cache.
    """

    def __init__(self, stream, dataset, *, batch_size, transform, as_torch, with_ids):
        self._stream = stream
        self._dataset = dataset
        self._batch_size = batch_size
        self._transform = transform
        self._as_torch = as_torch
        self._with_ids = with_ids
        self._next_epoch = 0
        self._lock = threading.Lock()

    @property
    def dataset(self):
        return self._dataset

    @property
    def batch_size(self):
        return self._batch_size

    @property
    def num_samples(self):
        """Items per epoch (the split's size)."""
        return self._stream.size

    @property
    def labels(self):
        return self._stream.labels

    @property
    def shape(self):
        """``(channels, height, width)`` of one image in a batch."""
        return self._stream.shape

    def __len__(self):
        return self._stream.num_batches

    def set_epoch(self, epoch):
        """Makes the next ``iter()`` run epoch ``epoch`` (its shuffle and augmentation)."""
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or not 0 <= epoch < 2**31:
            raise InvalidArgument(f"epoch must be a whole number from 0, not {epoch!r}")
        with self._lock:
            self._next_epoch = int(epoch)

    def __iter__(self):
        return self._epoch(self._as_torch)

    def _epoch(self, as_torch):
        torch = _import_torch() if as_torch else None
        with self._lock:
            epoch = self._next_epoch
            self._next_epoch += 1
        try:
            generation = self._stream.start_epoch(epoch)
        except BaseException:
            with self._lock:
                self._next_epoch = epoch
            raise
        return _Epoch(self, generation, torch)

    def close(self):
        """Stops the loader's threads and releases it. Idempotent."""
        self._stream.shutdown()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        c, h, w = self.shape
        return (f"<fsml.Loader {self._stream.ref}: {self.num_samples:,} items, {len(self)} batches of "
                f"{self._batch_size}, {c}x{h}x{w}>")


class _Epoch:
    """The iterator of one epoch of a Loader."""

    def __init__(self, loader, generation, torch):
        self._loader = loader
        self._stream = loader._stream
        self._generation = generation
        self._torch = torch
        self._done = False

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader)

    def __next__(self):
        if self._done:
            raise StopIteration
        # A loader error ends the epoch in the stream itself (the next call
        # gives None); another thread's call fails and leaves it running.
        out = self._stream.next(self._generation)
        if out is None:
            self._done = True
            raise StopIteration
        images, labels, rows = out
        if self._torch is not None:
            images, labels = self._torch.from_numpy(images), self._torch.from_numpy(labels)
        transform = self._loader._transform
        if transform is not None:
            try:
                result = transform(images, labels)
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise TypeError("transform must return a pair (images, labels), not "
                                    f"{type(result).__name__}")
            except BaseException:
                self._finish()
                raise
            images, labels = result
        if self._loader._with_ids:
            return images, labels, self._stream.item_ids(rows)
        return images, labels

    def _finish(self):
        """Ends the epoch early: the loader's threads stop (and are joined)."""
        if not self._done:
            self._done = True
            self._stream.stop(self._generation)

    def close(self):
        self._finish()

    def __del__(self):
        try:
            self._finish()
        except Exception:
            pass
