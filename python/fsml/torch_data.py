"""A torch.utils.data.IterableDataset over an fsml loader, for training loops
built around torch's DataLoader. Importing this module imports torch."""
import torch.utils.data

__all__ = ["TorchIterableDataset"]


class TorchIterableDataset(torch.utils.data.IterableDataset):
    """Yields the batches of an :class:`fsml.Loader` as ``(images, labels)``
    tensors (``(images, labels, item_ids)`` with ``with_ids=True``), one epoch
    per ``iter()``.

    The loader already batches, shuffles and runs its own threads, so wrap it
    as ``torch.utils.data.DataLoader(ds, batch_size=None, num_workers=0)``
    (or iterate ``ds`` directly). DataLoader worker processes would each copy
    the loader, so they are refused with a clear error.
    """

    def __init__(self, loader):
        super().__init__()
        self.loader = loader

    def __iter__(self):
        if torch.utils.data.get_worker_info() is not None:
            raise RuntimeError("an fsml loader runs its own threads: use DataLoader(dataset, batch_size=None, "
                               "num_workers=0), and the loader's workers= for parallelism")
        return self.loader._epoch(as_torch=True)

    def __len__(self):
        return len(self.loader)
