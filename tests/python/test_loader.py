"""ds.loader(): batches as fsml's C++ loader builds them, handed to numpy and
torch without a copy; epochs, seeds, transforms, the torch adapter, and bad
use (two threads, a raising transform, a closed workspace, bad options)."""
import io
import threading
import time
import traceback

import numpy as np
import pytest

import fsml
from conftest import FASHION_LABELS, TEST, TRAIN_V1, task_threads

MEAN, STD = 0.2860, 0.3530


@pytest.fixture
def ws(fashion):
    with fsml.open_workspace(fashion.root) as w:
        yield w


@pytest.fixture
def train(ws):
    return ws.dataset("fashion@v1").split("train")


def epoch(loader):
    xs, ys = [], []
    for x, y in loader:
        xs.append(x.copy())
        ys.append(y.copy())
    return np.concatenate(xs), np.concatenate(ys)


def wait_for_threads(count, timeout=5.0):
    deadline = time.time() + timeout
    while task_threads() > count and time.time() < deadline:
        time.sleep(0.01)
    return task_threads()


def test_batches_are_normalized_float32_nchw_of_the_right_items(train):
    from PIL import Image
    loader = train.loader(batch_size=64, shuffle=False, mean=MEAN, std=STD, with_ids=True)
    assert len(loader) == (len(train) + 63) // 64 and loader.num_samples == len(train)
    assert loader.shape == (1, 28, 28) and loader.labels == FASHION_LABELS
    seen = []
    for images, labels, ids in loader:
        assert images.dtype == np.float32 and images.shape[1:] == (1, 28, 28) and images.flags.c_contiguous
        assert labels.dtype == np.int64 and labels.shape == (len(images),) == (len(ids),)
        seen += ids
        first = train[len(seen) - len(ids)]  # unshuffled: in the split's order
        assert first.item_id == ids[0] and FASHION_LABELS[labels[0]] == first.label
        pixels = np.asarray(Image.open(io.BytesIO(first.content)), dtype=np.float32) / 255
        np.testing.assert_allclose(images[0, 0], (pixels - MEAN) / STD, rtol=0, atol=1e-5)
    assert seen == train.item_ids
    assert images.shape[0] == len(train) % 64 or images.shape[0] == 64


def test_every_item_once_per_epoch_deterministic_for_a_seed(train):
    a = train.loader(batch_size=50, seed=7, workers=1, with_ids=True)
    b = train.loader(batch_size=50, seed=7, workers=3, augment="crop,flip", with_ids=True)
    first_a = [i for _, _, ids in a for i in ids]
    assert sorted(first_a) == sorted(train.item_ids)
    second_a = [i for _, _, ids in a for i in ids]
    assert second_a != first_a, "epoch 2 has an order of its own"
    b.set_epoch(1)
    assert [i for _, _, ids in b for i in ids] == second_a, "same seed and epoch, same order, whatever the workers"
    c = train.loader(batch_size=50, seed=7, workers=3, augment="crop,flip")
    d = train.loader(batch_size=50, seed=7, workers=1, augment="crop,flip")
    xc, yc = epoch(c)
    xd, yd = epoch(d)
    np.testing.assert_array_equal(xc, xd)
    np.testing.assert_array_equal(yc, yd)
    other = train.loader(batch_size=50, seed=8, with_ids=True)
    assert [i for _, _, ids in other for i in ids] != first_a


def test_zero_copy_numpy_and_torch(train):
    torch = pytest.importorskip("torch")
    loader = train.loader(batch_size=32, as_torch=True)
    images, labels = next(iter(loader))
    assert isinstance(images, torch.Tensor) and images.dtype == torch.float32 and labels.dtype == torch.int64
    assert images.shape == (32, 1, 28, 28)
    # The tensor is a view of the loader's own buffer, through numpy.
    arrays = train.loader(batch_size=32)
    x, y = next(iter(arrays))
    assert not x.flags.owndata and not y.flags.owndata and x.flags.writeable
    t = torch.from_numpy(x)
    assert t.data_ptr() == x.ctypes.data
    x[0, 0, 0, 0] = 42.0
    assert t[0, 0, 0, 0].item() == 42.0
    del arrays, x, y  # the batch stays alive while the tensor does
    assert t[0, 0, 0, 0].item() == 42.0 and float(t[1:].abs().sum()) > 0


def test_transform_is_applied_per_batch(train):
    calls = []

    def transform(images, labels):
        calls.append(len(labels))
        return images * 2, labels + 100

    loader = train.loader(batch_size=100, shuffle=False, transform=transform)
    plain = train.loader(batch_size=100, shuffle=False)
    for (x, y), (px, py) in zip(loader, plain):
        np.testing.assert_array_equal(x, px * 2)
        np.testing.assert_array_equal(y, py + 100)
    assert calls == [100] * (len(train) // 100) + [len(train) % 100]


def test_raising_transform_surfaces_with_traceback_and_stops_threads(train):
    before = task_threads()

    def broken_transform(images, labels):
        if images.shape[0] and len(calls) == 2:
            raise ValueError("no such augmentation")
        calls.append(1)
        return images, labels

    calls = []
    loader = train.loader(batch_size=16, workers=3, prefetch=4, transform=broken_transform)
    it = iter(loader)
    next(it)
    assert task_threads() > before, "the loader's threads are running"
    with pytest.raises(ValueError, match="no such augmentation") as e:
        for _ in it:
            pass
    frames = [f.name for f in traceback.extract_tb(e.value.__traceback__)]
    assert frames[-1] == "broken_transform"
    assert wait_for_threads(before) == before, "the loader's threads stopped"
    with pytest.raises(StopIteration):
        next(it)
    calls.clear()
    loader._transform = None
    assert sum(len(y) for _, y in loader) == len(train), "the next epoch is whole"


def test_transform_must_return_a_pair(train):
    loader = train.loader(batch_size=100, transform=lambda x, y: x)
    with pytest.raises(TypeError, match="transform must return a pair"):
        next(iter(loader))
    with pytest.raises(fsml.InvalidArgument, match="transform must be callable"):
        train.loader(transform="flip")


def test_two_threads_get_a_clear_error(train):
    loader = train.loader(batch_size=16, workers=2)
    it = iter(loader)
    next(it)
    errors = []

    def other_thread():
        for use in (lambda: next(it), lambda: iter(loader)):
            try:
                use()
            except fsml.FailedPrecondition as e:
                errors.append(str(e))
    t = threading.Thread(target=other_thread)
    t.start()
    t.join()
    assert len(errors) == 2
    assert all("is being iterated by another thread; a loader serves one thread at a time" in m for m in errors)
    # The owner goes on undisturbed, and after the epoch another thread may iterate.
    assert 1 + sum(1 for _ in it) == len(loader)
    counted = []
    t = threading.Thread(target=lambda: counted.append(sum(len(y) for _, y in loader)))
    t.start()
    t.join()
    assert counted == [len(train)]


def test_many_threads_hammering_one_loader_do_not_crash(train):
    loader = train.loader(batch_size=8, workers=2)
    outcomes = []

    def consume():
        try:
            outcomes.append(sum(len(y) for _, y in loader))
        except fsml.FailedPrecondition:
            outcomes.append("refused")
    threads = [threading.Thread(target=consume) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 6 and all(o in (len(train), "refused") for o in outcomes)
    assert len(train) in outcomes


def test_a_new_iter_replaces_the_old_one(train):
    loader = train.loader(batch_size=100)
    old = iter(loader)
    next(old)
    new = iter(loader)
    with pytest.raises(fsml.FailedPrecondition, match="replaced by a newer one"):
        next(old)
    assert sum(len(y) for _, y in new) == len(train)


def test_breaking_out_of_an_epoch_stops_its_threads(train):
    before = task_threads()
    loader = train.loader(batch_size=8, workers=3)
    for i, _ in enumerate(loader):
        if i == 2:
            break
    assert wait_for_threads(before) == before
    loader.close()
    with pytest.raises(fsml.ClosedError):
        iter(loader)


def test_closing_the_workspace_stops_a_running_loader(fashion):
    ws = fsml.open_workspace(fashion.root)
    before = task_threads()
    loader = ws.dataset("fashion@v1").split("train").loader(batch_size=8, workers=3)
    it = iter(loader)
    next(it)
    closer = threading.Thread(target=ws.close)
    closer.start()
    closer.join(timeout=10)
    assert not closer.is_alive()
    with pytest.raises(fsml.ClosedError, match="closed"):
        next(it)
    assert wait_for_threads(before) == before


def test_torch_iterable_dataset_adapter(train, monkeypatch):
    torch = pytest.importorskip("torch")
    ds = fsml.TorchIterableDataset(train.loader(batch_size=64, mean=MEAN, std=STD))
    assert isinstance(ds, torch.utils.data.IterableDataset) and len(ds) == (len(train) + 63) // 64
    dl = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=0)
    n = 0
    for x, y in dl:
        assert x.shape[1:] == (1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
        n += len(y)
    assert n == len(train)
    same = train.torch_dataset(batch_size=64)
    assert sum(len(y) for _, y in same) == len(train)
    # In a DataLoader worker process (a fork would copy the loader's threads'
    # state), iterating is refused. Checked in this process: a worker that
    # raises costs DataLoader a 5 s shutdown.
    monkeypatch.setattr(torch.utils.data, "get_worker_info", lambda: object())
    with pytest.raises(RuntimeError, match="num_workers=0"):
        iter(ds)


def test_one_epoch_of_training_fed_by_the_loader(train):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(3):
        for x, y in train.loader(batch_size=32, mean=MEAN, std=STD, as_torch=True, seed=1):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    assert np.mean(losses[-10:]) < np.mean(losses[:10])


def test_channel_stats_and_resizing(ws):
    test = ws.dataset("fashion@v1").split("test")
    mean, std = test.channel_stats()
    assert len(mean) == len(std) == 1 and 0.2 < mean[0] < 0.4 and 0.25 < std[0] < 0.45
    x, _ = epoch(test.loader(batch_size=TEST, mean=mean, std=std, shuffle=False))
    assert abs(float(x.mean())) < 1e-3 and abs(float(x.std()) - 1) < 1e-3
    big, _ = next(iter(test.loader(batch_size=4, size=(32, 40), channels=3)))
    assert big.shape == (4, 3, 32, 40)
    assert next(iter(test.loader(batch_size=4, size=14)))[0].shape == (4, 1, 14, 14)
    assert len(list(test.loader(batch_size=64, drop_last=True))) == TEST // 64


def test_bad_loader_use(ws):
    version = ws.dataset("fashion@v1")
    with pytest.raises(fsml.FailedPrecondition, match='is a whole version: pick one first, e.g. .split\\("train"\\)'):
        version.loader()
    train = version.split("train")
    with pytest.raises(fsml.InvalidArgument, match="the loader reads images; project 'reviews' is text"):
        ws.dataset("reviews").split("train").loader()
    for kwargs, message in [({"batch_size": 0}, "batch_size must be a whole number from 1"),
                            ({"workers": -1}, "workers must be"), ({"mean": 0.5}, "needs both mean and std"),
                            ({"mean": [0.1, 0.2], "std": [1, 1]}, "one mean and one std per channel \\(1\\)"),
                            ({"std": 0, "mean": 0}, "std must be positive"),
                            ({"augment": "spin"}, "unknown augmentation 'spin'"),
                            ({"size": (28,)}, "size must be"), ({"channels": 2}, "channels must be 1 or 3"),
                            ({"batch_size": 2.5}, "batch_size must be")]:
        with pytest.raises(fsml.InvalidArgument, match=message):
            train.loader(**kwargs)
    loader = train.loader()
    with pytest.raises(fsml.InvalidArgument, match="epoch must be"):
        loader.set_epoch(-1)
    assert repr(loader) == (f"<fsml.Loader fashion@v1 (train): {len(train):,} items, {len(loader)} batches of 128, "
                            "1x28x28>")
    assert TRAIN_V1 > len(train)
