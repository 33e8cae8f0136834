"""The runs and model registry API against a real `fsml serve`: a training
started from the API on a tiny image project (8x8 images, one epoch of mlp)
and watched to its end, the run list, a run's page data, comparison,
checkpoint download, the registry's versions and lineage, promotion through
the production gate (refused, then forced with a reason), the role matrix of
every new route (sessions with and without CSRF) and bad input.

Environment (set by tests/e2e/CMakeLists.txt): FSML_BIN, the fsml binary.
"""
import os
import subprocess
import sys
import time

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from web_api_test import RANK, ROLES, Server, admin, ensure_user, fsml_bin, labeled_zip  # noqa: E402

LABELS = ["cat", "dog"]


def wait_for_run(c, run_id):
    # Polls until the run ends; the bound only stops a hung test.
    for _ in range(1200):
        r = c.req("GET", f"/api/v1/runs/{run_id}")
        assert r.status_code == 200, r.text
        if r.json()["status"] != "running":
            return r.json()
        time.sleep(0.1)
    pytest.fail(f"run {run_id} did not end")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("runsweb")
    subprocess.run([fsml_bin(), "-q", "init", str(root / "ws")], check=True)
    s = Server(root).start()
    a = admin(s)
    r = a.req("POST", "/api/v1/projects", json={"name": "zoo", "task_type": "image-classification", "labels": LABELS})
    assert r.status_code == 201, r.text
    r = a.req("POST", "/api/v1/projects/zoo/imports", files=[("file", ("zoo.zip", labeled_zip(LABELS, 12, 4, seed=lambda li, n: li * 1000 + n), "application/zip"))])
    assert r.status_code == 201, r.text
    assert a.req("POST", "/api/v1/projects/zoo/versions", json={"message": "all"}).status_code == 201
    r = a.req("POST", "/api/v1/projects", json={"name": "notes", "task_type": "text-classification", "labels": ["a", "b"]})
    assert r.status_code == 201, r.text
    clients = {role: ensure_user(s, f"r-{role}", role) for role in ROLES}

    # A training from the API: 202 once the run exists, then watched to its end.
    r = clients["reviewer"].req("POST", "/api/v1/runs", json={
        "data": "zoo@v1", "model": "mlp", "model_params": {"hidden": [16]}, "epochs": 1, "batch_size": 8, "seed": 5,
        "optimizer": "adamw", "lr": 0.01, "evaluate_test": True})
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    assert run_id and r.headers["Location"] == f"/api/v1/runs/{run_id}"
    assert r.json()["training"]["state"] in ("running", "finished")
    run = wait_for_run(clients["viewer"], run_id)
    assert run["status"] == "finished", run
    # A second run, for comparison (another seed and learning rate).
    r = clients["admin"].req("POST", "/api/v1/runs", json={"data": "zoo@v1", "model": "mlp", "epochs": 1, "batch_size": 8,
                                                           "seed": 6, "lr": 0.002})
    assert r.status_code == 202, r.text
    run2 = r.json()["run_id"]
    assert wait_for_run(clients["viewer"], run2)["status"] == "finished"
    subprocess.run([fsml_bin(), "-q", "models", "register", str(run_id), "--name", "zoo"], cwd=root / "ws", check=True,
                   capture_output=True)
    yield {"server": s, "clients": clients, "run": run_id, "run2": run2, "root": root}
    s.stop()


def test_a_training_started_from_the_api_is_recorded_in_full(world):
    v = world["clients"]["viewer"]
    run = v.req("GET", f"/api/v1/runs/{world['run']}?log_lines=2").json()
    assert run["project"] == "zoo" and run["dataset_version"] == {"project": "zoo", "number": 1}
    assert run["model"] == "mlp" and run["seed"] == 5
    assert run["params"]["lr"] == 0.01 and run["params"]["optimizer"] == "adamw" and run["params"]["epochs"] == 1
    assert run["spec"]["params"]["hidden"] == [16]
    assert run["epochs_done"] == 1 and run["epochs_planned"] == 1
    assert len(run["epochs"]) == 1 and run["epochs"][0]["learning_rate"] > 0
    assert run["test_accuracy"] is not None and 0 <= run["test_accuracy"] <= 1
    assert len(run["log"].strip().splitlines()) <= 2 and "finished" in run["log"]
    ck = run["artifacts"]["checkpoints"]
    assert len(ck) == 1 and ck[0]["bytes"] > 0 and ck[0]["best"] is True
    assert run["artifacts"]["best_checkpoint"]["epoch"] == 1
    assert [m["name"] + "/" + str(m["number"]) for m in run["artifacts"]["model_versions"]] == ["zoo/1"]
    # The checkpoint's bytes, by the key the database holds.
    r = v.req("GET", ck[0]["download"])
    assert r.status_code == 200 and len(r.content) == ck[0]["bytes"]
    assert r.headers["Content-Disposition"] == f'attachment; filename="run-{world["run"]}-epoch-1.ckpt"'
    trainings = v.req("GET", "/api/v1/trainings").json()["trainings"]
    assert [t["run_id"] for t in trainings] == [world["run2"], world["run"]]
    assert trainings[1]["state"] == "finished" and trainings[1]["requested_by"] == "r-reviewer"


def test_the_run_list_filters_sorts_and_pages(world):
    v = world["clients"]["viewer"]
    page = v.req("GET", "/api/v1/runs?project=zoo&limit=1").json()
    assert page["total"] == 2 and [r["id"] for r in page["runs"]] == [world["run2"]]
    page = v.req("GET", "/api/v1/runs?project=zoo&limit=1&offset=1").json()
    assert [r["id"] for r in page["runs"]] == [world["run"]]
    assert page["runs"][0]["model_versions"] == ["zoo/1"]
    ids = [r["id"] for r in v.req("GET", "/api/v1/runs?sort=started_at").json()["runs"]]
    assert ids == [world["run"], world["run2"]]
    assert v.req("GET", "/api/v1/runs?status=failed").json()["total"] == 0
    assert v.req("GET", "/api/v1/runs?model=resnet").json()["runs"] == []
    assert v.req("GET", "/api/v1/runs?status=finished&model=mlp&sort=-accuracy").json()["total"] == 2


def test_compare_overlays_epochs_and_diffs_params(world):
    v = world["clients"]["viewer"]
    r = v.req("GET", f"/api/v1/runs/compare?ids={world['run']},{world['run2']}")
    assert r.status_code == 200, r.text
    c = r.json()
    assert [x["id"] for x in c["runs"]] == [world["run"], world["run2"]]
    assert all(len(x["epochs"]) == 1 for x in c["runs"])
    assert c["params"]["differing"]["lr"] == [0.01, 0.002]
    assert c["params"]["differing"]["seed"] == [5, 6]
    assert c["params"]["common"]["dataset"] == "zoo@v1" and c["params"]["common"]["epochs"] == 1


def test_promotion_goes_through_the_gate(world):
    a = world["clients"]["admin"]
    subprocess.run([fsml_bin(), "-q", "project", "require", "zoo", "accuracy >= 0.5"], cwd=world["root"] / "ws", check=True,
                   capture_output=True)
    gate = a.req("GET", "/api/v1/registry/zoo/versions/1/gate").json()
    assert gate["passed"] is False and "no evaluation on the test split" in gate["reason"]
    r = a.req("POST", "/api/v1/registry/zoo/aliases/production", json={"version": 1})
    assert r.status_code == 409 and "refusing to make zoo/1" in r.json()["error"]["message"], r.text
    r = a.req("POST", "/api/v1/registry/zoo/aliases/production", json={"version": 1, "force": True})
    assert r.status_code == 400 and '"reason" is required' in r.json()["error"]["message"]
    r = a.req("POST", "/api/v1/registry/zoo/aliases/production", json={"version": 1, "force": True, "reason": "demo day"})
    assert r.status_code == 200 and r.json()["forced"] is True, r.text
    r = a.req("POST", "/api/v1/registry/zoo/aliases/staging", json={"version": 1})
    assert r.status_code == 200 and r.json()["forced"] is False
    m = world["clients"]["viewer"].req("GET", "/api/v1/registry/zoo").json()
    assert m["aliases"] == {"production": 1, "staging": 1}
    assert m["versions"][0]["lineage"] == {"run_id": world["run"], "epoch": 1, "project": "zoo", "dataset_version": 1,
                                           "dataset": "zoo@v1"}
    hist = m["alias_history"]
    assert [h["alias"] for h in hist] == ["production", "staging"]
    assert hist[0]["forced"] is True and "demo day" in hist[0]["note"] and hist[0]["by"] == "r-admin"
    listed = world["clients"]["viewer"].req("GET", "/api/v1/models").json()["models"]
    assert listed[0]["name"] == "zoo" and listed[0]["latest_metrics"] is not None


def test_every_new_route_checks_its_role_and_csrf(world):
    s = world["server"]
    run = world["run"]
    routes = [
        ("GET", "/api/v1/runs", None, "viewer"),
        ("GET", f"/api/v1/runs/{run}", None, "viewer"),
        ("GET", f"/api/v1/runs/compare?ids={run},{world['run2']}", None, "viewer"),
        ("GET", f"/api/v1/runs/{run}/artifacts/1", None, "viewer"),
        ("GET", "/api/v1/trainings", None, "viewer"),
        ("GET", "/api/v1/registry/zoo", None, "viewer"),
        ("GET", "/api/v1/registry/zoo/versions/1/gate", None, "viewer"),
        # Refused after the role check (no such project / version), so nothing trains or moves.
        ("POST", "/api/v1/runs", {"data": "no-such-project@v1"}, "reviewer"),
        ("POST", "/api/v1/registry/zoo/aliases/canary", {"version": 99}, "admin"),
    ]
    for method, path, body, need in routes:
        for role, c in world["clients"].items():
            r = c.req(method, path, json=body)
            if RANK[role] >= RANK[need]:
                assert r.status_code not in (401, 403), f"{role}: {method} {path} -> {r.status_code} {r.text}"
            else:
                assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied", f"{role}: {method} {path}"
        assert requests.request(method, s.url + path, json=body).status_code == 401
        if method == "POST":
            r = world["clients"]["admin"].req(method, path, csrf=False, json=body)
            assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"


@pytest.mark.parametrize("path,status,words", [
    ("/api/v1/runs/abc", 400, "positive integer"),
    ("/api/v1/runs/0", 400, "positive integer"),
    ("/api/v1/runs/99999999", 404, "no run 99999999"),
    ("/api/v1/runs/{r}?log_lines=-5", 400, "log_lines must be"),
    ("/api/v1/runs?sort=name", 400, "sort must be"),
    ("/api/v1/runs?sort=%3Cscript%3E", 400, "sort must be"),
    ("/api/v1/runs?status=done", 400, "status must be"),
    ("/api/v1/runs?limit=0", 400, "limit must be"),
    ("/api/v1/runs?offset=-1", 400, "offset must be"),
    ("/api/v1/runs?project=%27%3B%20DROP%20TABLE%20runs%3B--", 200, None),
    ("/api/v1/runs/compare?ids=1,2,3,4,5,6", 400, "not 6"),
    ("/api/v1/runs/compare?ids={r}", 400, "2 to 5"),
    ("/api/v1/runs/compare?ids={r},{r}", 400, "twice"),
    ("/api/v1/runs/compare?ids={r},x", 400, "is not a run id"),
    ("/api/v1/runs/compare?ids={r},99999999", 404, "no run 99999999"),
    ("/api/v1/runs/{r}/artifacts/7", 404, "has no checkpoint of epoch 7"),
    ("/api/v1/runs/{r}/artifacts/x", 400, "epoch must be"),
    ("/api/v1/registry/nothing-here", 404, "no model named 'nothing-here'"),
    ("/api/v1/registry/zoo/versions/0/gate", 400, "positive integer"),
])
def test_bad_queries_get_clear_errors(world, path, status, words):
    r = world["clients"]["viewer"].req("GET", path.replace("{r}", str(world["run"])))
    assert r.status_code == status, r.text
    if words:
        assert words in r.json()["error"]["message"], r.text
    else:
        assert r.json()["runs"] == []


@pytest.mark.parametrize("body,status,words", [
    ({"data": "zoo@v1", "epochs": -1}, 400, '"epochs" must be an integer from 1 to 1000'),
    ({"data": "zoo@v1", "epochs": 100000}, 400, '"epochs" must be an integer from 1 to 1000'),
    ({"data": "zoo@v1", "batch_size": 0}, 400, '"batch_size"'),
    ({"data": "zoo@v1", "model": "transformer"}, 400, '"model" must be one of mlp, cnn-small, resnet'),
    ({"data": "zoo@v1", "model": "<img src=x onerror=alert(1)>"}, 400, '"model" must be one of'),
    ({"data": "zoo@v1", "lr": -0.1}, 400, '"lr" must be a number in (0, 100)'),
    ({"data": "zoo@v1", "optimizer": "adam"}, 400, '"optimizer"'),
    ({"data": "zoo@v1", "unknown": 1}, 400, 'unknown field "unknown"'),
    ({"data": "zoo@v1", "model": "mlp", "model_params": {"depth": 3}, "epochs": 1}, 400, "depth"),
    ({"data": "zoo@v9"}, 404, "v9"),
    ({"data": "../../etc/passwd@v1"}, 400, '"data"'),
    ({}, 400, '"data" is required'),
    ({"data": "notes@v1"}, 409, "no text models"),
])
def test_bad_training_requests_get_clear_errors(world, body, status, words):
    r = world["clients"]["reviewer"].req("POST", "/api/v1/runs", json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]["message"], r.text


def test_bad_alias_requests_get_clear_errors(world):
    a = world["clients"]["admin"]
    for body, status, words in [
        ({}, 400, '"version" is required'),
        ({"version": "1"}, 400, '"version" is required'),
        ({"version": 1, "force": "yes"}, 400, '"force" must be true or false'),
        ({"version": 1, "reason": 5}, 400, '"reason" must be a string'),
        ({"version": 1, "extra": 1}, 400, 'unknown field "extra"'),
        ({"version": 42}, 404, "42"),
    ]:
        r = a.req("POST", "/api/v1/registry/zoo/aliases/staging", json=body)
        assert r.status_code == status, (body, r.text)
        assert words in r.json()["error"]["message"], (body, r.text)
    r = a.req("POST", "/api/v1/registry/zoo/aliases/NOT%20OK", json={"version": 1})
    assert r.status_code == 400
    r = a.req("POST", "/api/v1/registry/zoo/aliases/staging", data="version=1",
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
