"""Fixtures of the Python package's tests: workspaces made with the fsml
command line from a small slice of Fashion-MNIST (and a small text project),
on the embedded stores or, with FSML_TEST_BACKEND=pg_s3, on a fresh
PostgreSQL database and S3 bucket of the integration tier's servers; and a
running `fsml serve` with a tiny trained model.

Environment (set by tests/python/CMakeLists.txt): FSML_BIN (the fsml binary),
PYTHONPATH (the build tree's fsml package), FSML_SOURCE_DIR; for pg_s3,
FSML_TEST_PG_URL (an admin URL) and FSML_TEST_S3_ENDPOINT.
"""
import json
import os
import pathlib
import subprocess
import time
import types
import urllib.request
import uuid

import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("FSML_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
FASHION_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                  "Ankle boot"]
# The slice of Fashion-MNIST: v1 has the first TRAIN_V1 training and TEST test
# images; v2 adds the next ADDED training images and relabels RELABELED items.
# Smaller on PostgreSQL + S3, where every object is an HTTP request to a
# test server (a few hundred a second).
if os.environ.get("FSML_TEST_BACKEND") == "pg_s3":
    TRAIN_V1, TEST, ADDED, RELABELED = 200, 60, 20, 3
else:
    TRAIN_V1, TEST, ADDED, RELABELED = 600, 200, 60, 3


def fsml_bin():
    path = os.environ.get("FSML_BIN")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("FSML_BIN must name the fsml binary (ctest sets it)")
    return os.path.abspath(path)


def run_fsml(cwd, *args):
    """Runs `fsml -q ARGS` in `cwd`; returns stdout, fails the test with stderr."""
    p = subprocess.run([fsml_bin(), "-q", *map(str, args)], cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        pytest.fail(f"fsml {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p.stdout


def write_fashion_subset(dst, n_train, n_test, skip_train=0):
    """Fashion-MNIST training images [skip_train, skip_train + n_train) and the
    first n_test test images, as uncompressed idx files in `dst`."""
    import gzip
    import struct
    if not os.path.isdir(FASHION_DIR):
        pytest.fail(f"{FASHION_DIR} is missing: install dataset-fashion-mnist (scripts/setup.sh does)")
    os.makedirs(dst, exist_ok=True)
    for prefix, first, n in (("train", skip_train, n_train), ("t10k", 0, n_test)):
        images = gzip.open(f"{FASHION_DIR}/{prefix}-images-idx3-ubyte.gz").read()
        labels = gzip.open(f"{FASHION_DIR}/{prefix}-labels-idx1-ubyte.gz").read()
        with open(f"{dst}/{prefix}-images-idx3-ubyte", "wb") as f:
            f.write(struct.pack(">IIII", 0x803, n, 28, 28) + images[16 + first * 784:16 + (first + n) * 784])
        with open(f"{dst}/{prefix}-labels-idx1-ubyte", "wb") as f:
            f.write(struct.pack(">II", 0x801, n) + labels[8 + first:8 + first + n])


class Backends:
    """Fresh metadata database + bucket per workspace on PostgreSQL + S3, or
    nothing (the embedded defaults)."""

    def __init__(self, kind):
        self.kind = kind
        self.databases = []
        if kind == "pg_s3":
            self.admin = os.environ["FSML_TEST_PG_URL"]
            self.s3 = os.environ["FSML_TEST_S3_ENDPOINT"]
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "fsml-test")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "fsml-test-secret")
            os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    def init_args(self, name):
        """Extra `fsml init` arguments for a workspace called `name`."""
        if self.kind != "pg_s3":
            return []
        db = f"fsml_py_{name}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self._psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)", f"CREATE DATABASE {db}")
        self.databases.append(db)
        bucket = db.replace("_", "-")
        code = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--aws-sigv4", "aws:amz:us-east-1:s3",
             "--user", f"{os.environ['AWS_ACCESS_KEY_ID']}:{os.environ['AWS_SECRET_ACCESS_KEY']}",
             "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-X", "PUT", f"{self.s3}/{bucket}"],
            capture_output=True, text=True).stdout
        if code != "200":
            pytest.fail(f"cannot create bucket {bucket} on {self.s3} (HTTP {code})")
        meta = self.admin.rsplit("/", 1)[0] + "/" + db
        return ["--meta", meta, "--blobs", f"s3://{bucket}/ws?endpoint={self.s3}"]

    def _psql(self, *commands):
        args = ["psql", "-qAt", "-v", "ON_ERROR_STOP=1", self.admin]
        for c in commands:
            args += ["-c", c]
        p = subprocess.run(args, capture_output=True, text=True)
        if p.returncode != 0:
            pytest.fail(f"psql {commands}: {p.stderr}")

    def drop(self):
        for db in self.databases:
            subprocess.run(["psql", "-qAt", self.admin, "-c", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"],
                           capture_output=True)


@pytest.fixture(scope="session")
def backends():
    b = Backends(os.environ.get("FSML_TEST_BACKEND", "embedded"))
    yield b
    b.drop()


@pytest.fixture(scope="session", autouse=True)
def built_package():
    """The fsml package under test is the build tree's (PYTHONPATH), not an installed one."""
    import fsml
    if "FSML_BUILD_DIR" in os.environ:
        build = pathlib.Path(os.environ["FSML_BUILD_DIR"]).resolve()
        assert pathlib.Path(fsml._fsml.__file__).resolve().is_relative_to(build), fsml._fsml.__file__
    return fsml


@pytest.fixture(scope="session")
def fashion(tmp_path_factory, backends):
    """A workspace with project 'fashion': fashion@v1 (tagged 'gold': TRAIN_V1
    + TEST images), fashion@v2 (ADDED more, RELABELED relabeled), and a text
    project 'reviews' at reviews@v1. Returns a namespace with `root`, `v1_ids`
    ({item id: label} of v1), `added` (item ids), `relabeled` ({id: (old, new)})."""
    top = tmp_path_factory.mktemp("fashion")
    ws = top / "ws"
    run_fsml(top, "init", ws, *backends.init_args("fashion"))
    if backends.kind == "pg_s3":
        config = (ws / "fsml.toml").read_text()
        assert "postgresql://" in config and "s3://" in config, config
    write_fashion_subset(top / "v1", TRAIN_V1, TEST)
    run_fsml(ws, "import", "fashion", top / "v1", "--format", "idx", "--label-names", ",".join(FASHION_LABELS))
    run_fsml(ws, "data", "commit", "fashion", "-m", "first slice")
    run_fsml(ws, "data", "tag", "fashion@v1", "gold")
    run_fsml(ws, "data", "export", "fashion@v1", top / "exp", "--format", "jsonl")
    v1 = [json.loads(line) for line in open(top / "exp" / "data.jsonl")]
    v1_ids = {r["id"]: r["label"] for r in v1}

    # v2: ADDED more training images, and RELABELED train items get another label.
    write_fashion_subset(top / "more", ADDED, 0, skip_train=TRAIN_V1)
    run_fsml(ws, "import", "fashion", top / "more", "--format", "idx", "--label-names", ",".join(FASHION_LABELS))
    relabel = [r for r in v1 if r["split"] == "train"][:RELABELED]
    relabeled = {}
    with open(top / "exp" / "relabel.jsonl", "w") as f:
        for r in relabel:
            new = FASHION_LABELS[(FASHION_LABELS.index(r["label"]) + 1) % len(FASHION_LABELS)]
            relabeled[r["id"]] = (r["label"], new)
            f.write(json.dumps({"image": r["image"], "label": new, "split": "train"}) + "\n")
    run_fsml(ws, "import", "fashion", top / "exp" / "relabel.jsonl")
    run_fsml(ws, "data", "commit", "fashion", "-m", "more and fixes")
    run_fsml(ws, "data", "export", "fashion@v2", top / "exp2", "--format", "jsonl")
    v2_ids = {json.loads(line)["id"] for line in open(top / "exp2" / "data.jsonl")}

    # A text project, with non-ASCII text.
    with open(top / "reviews.jsonl", "w", encoding="utf-8") as f:
        for i, (text, label) in enumerate([("great fit, would buy again", "pos"), ("zu klein, schade", "neg"),
                                           ("très confortable ✓", "pos"), ("fell apart after a week", "neg")]):
            f.write(json.dumps({"text": text, "label": label, "split": "train" if i < 3 else "test"},
                               ensure_ascii=False) + "\n")
    run_fsml(ws, "project", "create", "reviews", "--type", "text-classification", "--labels", "pos,neg")
    run_fsml(ws, "import", "reviews", top / "reviews.jsonl")
    run_fsml(ws, "data", "commit", "reviews", "-m", "four reviews")
    return types.SimpleNamespace(root=ws, top=top, v1_ids=v1_ids, v1_rows=v1, added=sorted(v2_ids - set(v1_ids)),
                                 relabeled=relabeled)


def free_port_url(proc_stdout_path, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(proc_stdout_path) as f:
            for line in f:
                if line.startswith("listening on "):
                    return line.split("listening on ", 1)[1].strip()
        time.sleep(0.05)
    raise TimeoutError("fsml serve did not print its address")


@pytest.fixture(scope="session")
def server(fashion):
    """`fsml serve` on a free port over the fashion workspace, with fashion/1
    (a tiny mlp) aliased production. Returns a namespace with url, token, png
    (a test image's bytes) and its label."""
    ws = fashion.root
    run_fsml(ws, "train", "fashion@v1", "--model", "mlp", "--epochs", "1", "--batch-size", "64", "--seed", "1",
             "--threads", "2")
    run_fsml(ws, "models", "register", "1", "--name", "fashion")
    run_fsml(ws, "models", "alias", "fashion", "1", "production")
    token = run_fsml(ws, "token", "create", "pytest").strip().splitlines()[-1]
    out = fashion.top / "serve.out"
    err = open(fashion.top / "serve.err", "w")
    proc = subprocess.Popen([fsml_bin(), "serve", "--listen", "127.0.0.1:0", "--access-log", "off"], cwd=ws,
                            stdout=open(out, "w"), stderr=err)
    try:
        url = free_port_url(out)
        deadline = time.time() + 30
        while True:
            try:
                if urllib.request.urlopen(url + "/readyz", timeout=5).status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                pytest.fail("fsml serve did not become ready: " + open(fashion.top / "serve.err").read())
            time.sleep(0.05)
        test_row = next(r for r in fashion.v1_rows if r["split"] == "test")
        png = (fashion.top / "exp" / test_row["image"]).read_bytes()
        yield types.SimpleNamespace(url=url, token=token, png=png, png_path=fashion.top / "exp" / test_row["image"],
                                    png_item=test_row["id"], labels=FASHION_LABELS, workspace=ws)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def task_threads():
    """Threads of this process, C++ ones included."""
    return len(os.listdir("/proc/self/task"))
