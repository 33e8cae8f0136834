"""fsml.open_workspace and datasets: refs, items, splits, labels, diffs,
pandas, and bad input (wrong refs, a missing workspace, a closed one)."""
import hashlib
import os
import sys
import threading

import pytest

import fsml
from conftest import ADDED, FASHION_LABELS, RELABELED, TEST, TRAIN_V1


@pytest.fixture
def ws(fashion):
    with fsml.open_workspace(fashion.root) as w:
        yield w


def test_refs_name_versions_tags_and_latest(ws, fashion):
    v1, gold, v2, latest = (ws.dataset(r) for r in ("fashion@v1", "fashion@gold", "fashion@v2", "fashion"))
    assert (v1.ref, gold.ref, v2.ref, latest.ref) == ("fashion@v1", "fashion@v1", "fashion@v2", "fashion@v2")
    assert (v1.version, v1.project, v1.task, v1.split_name) == (1, "fashion", "image-classification", None)
    assert len(v1) == TRAIN_V1 + TEST == len(fashion.v1_ids)
    assert len(v2) == len(v1) + ADDED
    assert v1.info["message"] == "first slice" and v1.info["tags"] == ["gold"]
    assert repr(v1) == f"<fsml.Dataset fashion@v1: {TRAIN_V1 + TEST:,} items, 10 labels>"
    assert [v["ref"] for v in ws.versions("fashion")] == ["fashion@v2", "fashion@v1"]
    assert {p["name"] for p in ws.projects()} == {"fashion", "reviews"}


def test_items_are_bytes_label_and_id_in_id_order(ws, fashion):
    ds = ws.dataset("fashion@v1")
    assert ds.labels == FASHION_LABELS
    items = list(ds)
    assert len(items) == len(ds)
    ids = [it.item_id for it in items]
    assert ids == sorted(ids) == ds.item_ids
    for content, label, item_id in items:
        assert isinstance(content, bytes) and content.startswith(b"\x89PNG")
        assert hashlib.sha256(content).hexdigest() == item_id
        assert fashion.v1_ids[item_id] == label
    # Indexing, negative indexes and slices agree with iteration.
    assert ds[0] == items[0] and ds[-1] == items[-1] and ds[-len(ds)] == items[0]
    assert ds[5:9] == items[5:9] and ds[10:2] == [] and ds[::250] == items[::250]
    assert isinstance(ds[3], fsml.Item)


def test_bad_indexes(ws):
    ds = ws.dataset("fashion@v1")
    for bad in (len(ds), -len(ds) - 1, 10**12):
        with pytest.raises(IndexError, match="out of range"):
            ds[bad]
    with pytest.raises(TypeError, match="integers or slices"):
        ds["0"]


def test_text_items_are_str(ws):
    ds = ws.dataset("reviews")
    assert ds.task == "text-classification"
    texts = {content: label for content, label, _ in ds}
    assert texts["très confortable ✓"] == "pos" and texts["zu klein, schade"] == "neg"
    assert all(isinstance(t, str) for t in texts)
    assert len(ds.split("test")) == 1


def test_splits(ws, fashion):
    ds = ws.dataset("fashion@v1")
    parts = {name: ds.split(name) for name in ("train", "val", "test")}
    assert sum(len(p) for p in parts.values()) == len(ds)
    assert len(parts["test"]) == TEST
    for name, part in parts.items():
        assert part.split_name == name and part.ref == "fashion@v1"
        assert all(row[2] == name for row in (part._native.meta(i) for i in range(len(part))))
        expected = {r["id"] for r in fashion.v1_rows if r["split"] == name}
        assert set(part.item_ids) == expected
    assert "split=train" in repr(parts["train"])
    # A split of a split is that split of the version.
    assert len(parts["train"].split("test")) == TEST
    with pytest.raises(fsml.InvalidArgument, match="holdout"):
        ds.split("holdout")


def test_diff_added_removed_relabeled(ws, fashion):
    v1, v2 = ws.dataset("fashion@v1"), ws.dataset("fashion@v2")
    d = v1.diff(v2)
    assert sorted(r.item_id for r in d.added) == fashion.added and len(d.added) == ADDED
    assert d.removed == []
    assert {r.item_id: (r.old, r.new) for r in d.relabeled} == fashion.relabeled
    assert d.unchanged == len(v1) - RELABELED
    back = v2.diff(v1)
    assert sorted(r.item_id for r in back.removed) == fashion.added and back.added == []
    assert repr(d) == f"<fsml.DatasetDiff +{ADDED} -0 ~{RELABELED} ={len(v1) - RELABELED}>"
    # Within a split: test items did not change.
    assert v1.split("test").diff(v2.split("test")).unchanged == TEST
    with pytest.raises(TypeError):
        v1.diff("fashion@v2")


def test_to_pandas(ws, fashion):
    pd = pytest.importorskip("pandas")
    ds = ws.dataset("fashion@v1")
    df = ds.to_pandas()
    assert list(df.columns) == ["item_id", "label", "split"] and len(df) == len(ds)
    assert list(df["label"].cat.categories) == FASHION_LABELS
    assert dict(zip(df.item_id, df.label)) == fashion.v1_ids
    assert df.split.value_counts()["test"] == TEST
    small = ws.dataset("reviews").to_pandas(content=True)
    assert isinstance(small, pd.DataFrame) and "zu klein, schade" in set(small.content)


def test_to_pandas_without_pandas_says_how_to_get_it(ws, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    with pytest.raises(ImportError, match="needs pandas.*python3-pandas"):
        ws.dataset("fashion@v1").to_pandas()


def test_wrong_refs(ws):
    with pytest.raises(fsml.NotFound, match="no version fashion@v9 \\(latest is fashion@v2\\)"):
        ws.dataset("fashion@v9")
    with pytest.raises(fsml.NotFound, match="no version or tag 'fashion@silver'"):
        ws.dataset("fashion@silver")
    with pytest.raises(fsml.NotFound, match="no project 'shoes'") as e:
        ws.dataset("shoes@v1")
    assert e.value.code == "not_found" and isinstance(e.value, LookupError)
    with pytest.raises(fsml.InvalidArgument, match="nothing after '@'"):
        ws.dataset("fashion@")
    with pytest.raises(fsml.InvalidArgument, match="version ref 'Fashion Week'"):
        ws.dataset("Fashion Week")
    with pytest.raises(fsml.InvalidArgument, match="a dataset ref is a string"):
        ws.dataset(2)


def test_missing_workspace(tmp_path):
    with pytest.raises(fsml.NotFound, match=f"{tmp_path}/nowhere is not an fsml workspace \\(no fsml.toml\\)"):
        fsml.open_workspace(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(fsml.NotFound, match="not an fsml workspace"):
        fsml.open_workspace(str(tmp_path / "empty"))


def test_open_from_the_environment_and_the_current_folder(fashion, monkeypatch, tmp_path):
    monkeypatch.setenv("FSML_WORKSPACE", str(fashion.root))
    with fsml.open_workspace() as w:
        assert w.root == os.path.realpath(fashion.root)
    monkeypatch.delenv("FSML_WORKSPACE")
    monkeypatch.chdir(fashion.root)
    with fsml.open_workspace() as w:
        assert len(w.dataset("fashion@v1")) == TRAIN_V1 + TEST
    monkeypatch.chdir(tmp_path)
    with pytest.raises(fsml.NotFound, match="not in an fsml workspace"):
        fsml.open_workspace()


def test_closed_workspace(fashion):
    w = fsml.open_workspace(fashion.root)
    ds = w.dataset("fashion@v1")
    train = ds.split("train")
    loader = train.loader(batch_size=50)
    w.close()
    w.close()  # idempotent
    assert w.closed and "(closed)" in repr(w)
    for use in (lambda: w.dataset("fashion@v1"), lambda: len(ds), lambda: ds[0], lambda: list(ds),
                lambda: ds.split("val"), lambda: ds.diff(ds), lambda: train.loader(), lambda: list(loader),
                lambda: w.versions("fashion")):
        with pytest.raises(fsml.ClosedError, match="is closed"):
            use()
    assert "closed workspace" in repr(ds)


def test_workspace_shared_by_threads(ws):
    ds = ws.dataset("fashion@v2")
    results, errors = [], []

    def read():
        try:
            results.append(sum(len(c) for c, _, _ in ds))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1
