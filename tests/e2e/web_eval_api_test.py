"""The evaluation explorer's API against a real `fsml serve`: evaluations run
in the background from the API, the role matrix of every evaluation route
(sessions with and without CSRF, tokens), the items behind a confusion-matrix
cell, sending items to review and accepting labels, comparisons, and bad
input. A tiny image project (8x8 images) and two one-epoch mlp models keep it
well under a minute.

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

LABELS = ["cat", "dog", "bird"]


def poll_job(c, job_id):
    # Polls until the job ends; the deadline only stops a hung test.
    for _ in range(1200):
        j = c.req("GET", f"/api/v1/evaluations/jobs/{job_id}").json()
        if j["state"] in ("done", "failed"):
            return j
        time.sleep(0.1)
    pytest.fail(f"evaluation job {job_id} did not end: {j}")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("evalweb")
    subprocess.run([fsml_bin(), "-q", "init", str(root / "ws")], check=True)
    s = Server(root).start()
    a = admin(s)
    r = a.req("POST", "/api/v1/projects", json={"name": "zoo", "task_type": "image-classification", "labels": LABELS})
    assert r.status_code == 201, r.text
    r = a.req("POST", "/api/v1/projects/zoo/imports", files=[("file", ("zoo.zip", labeled_zip(LABELS, 12, 6), "application/zip"))])
    assert r.status_code == 201, r.text
    assert a.req("POST", "/api/v1/projects/zoo/versions", json={"message": "all"}).status_code == 201
    for run, seed in ((1, 1), (2, 7)):
        subprocess.run([fsml_bin(), "-q", "train", "zoo@v1", "--model", "mlp", "--epochs", "1", "--batch-size", "8", "--seed",
                        str(seed)], cwd=root / "ws", check=True, capture_output=True)
        subprocess.run([fsml_bin(), "-q", "models", "register", str(run), "--name", "zoo"], cwd=root / "ws", check=True,
                       capture_output=True)
    clients = {role: ensure_user(s, f"e-{role}", role) for role in ROLES}
    evals = []
    for model in ("zoo/1", "zoo/2"):
        r = clients["reviewer"].req("POST", "/api/v1/evaluations", json={"model": model, "data": "zoo@v1", "split": "test"})
        assert r.status_code == 202, r.text
        assert r.headers["Location"] == f"/api/v1/evaluations/jobs/{r.json()['id']}"
        job = poll_job(clients["viewer"], r.json()["id"])
        assert job["state"] == "done", job
        evals.append(job["evaluation_id"])
    yield {"server": s, "clients": clients, "evals": evals, "root": root}
    s.stop()


def test_evaluation_from_the_api_has_metrics_and_a_confusion_matrix(world):
    v = world["clients"]["viewer"]
    e = v.req("GET", f"/api/v1/evaluations/{world['evals'][0]}").json()
    assert e["model"] == "zoo/1" and e["dataset"] == "zoo@v1" and e["split"] == "test"
    m = e["metrics"]
    assert m["items"] == 18 and m["labels"] == LABELS
    assert sum(map(sum, m["confusion"])) == 18
    assert [c["support"] for c in m["per_class"]] == [6, 6, 6]
    assert len(m["calibration"]) > 0 and "ece" in m
    assert e["created_by"] == "e-reviewer"
    listed = v.req("GET", "/api/v1/evaluations?project=zoo").json()["evaluations"]
    assert [x["id"] for x in listed] == list(reversed(world["evals"]))
    assert v.req("GET", "/api/v1/evaluations?project=nothing-here").json()["evaluations"] == []


def test_cell_items_match_the_matrix_sorted_and_paginated(world):
    v = world["clients"]["viewer"]
    eid = world["evals"][0]
    m = v.req("GET", f"/api/v1/evaluations/{eid}").json()["metrics"]
    for t, row in enumerate(m["confusion"]):
        for p, n in enumerate(row):
            r = v.req("GET", f"/api/v1/evaluations/{eid}/items", params={"true": LABELS[t], "pred": LABELS[p], "limit": 500})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["total"] == n and len(body["items"]) == n
            conf = [i["confidence"] for i in body["items"]]
            assert conf == sorted(conf, reverse=True)
            for i in body["items"]:
                assert (i["true"], i["predicted"]) == (LABELS[t], LABELS[p])
                assert i["media_type"] == "image/png" and len(i["top"]) == 3
    # Pages of 5 in both orders cover a row once each, one the reverse of the other.
    down, up = [], []
    for offset in range(0, 10, 5):
        down += [i["item"] for i in v.req("GET", f"/api/v1/evaluations/{eid}/items?true=cat&limit=5&offset={offset}").json()["items"]]
        up += [i["item"] for i in v.req("GET", f"/api/v1/evaluations/{eid}/items?true=cat&sort=confidence&limit=5&offset={offset}").json()["items"]]
    assert len(down) == 6 and down == list(reversed(up))
    mistakes = v.req("GET", f"/api/v1/evaluations/{eid}/mistakes?limit=500").json()
    wrong = m["items"] - sum(m["confusion"][i][i] for i in range(3))
    assert mistakes["total"] == wrong and all(not i["correct"] for i in mistakes["items"])
    issues = v.req("GET", f"/api/v1/evaluations/{eid}/label-issues").json()
    assert issues["computed"] is False and issues["items"] == []


def test_send_to_review_and_accept(world):
    rev = world["clients"]["reviewer"]
    eid = world["evals"][0]
    items = rev.req("GET", f"/api/v1/evaluations/{eid}/items?limit=3").json()["items"]
    first = items[0]
    r = rev.req("POST", f"/api/v1/evaluations/{eid}/review", json={"items": [first["item"]], "comment": "look again"})
    assert r.status_code == 200, r.text
    assert r.json()["sent"] == [first["item"]]
    queue = rev.req("GET", "/api/v1/projects/zoo/review?limit=200").json()
    sent = [i for i in queue["items"] if i["item_id"] == first["item"]]
    assert len(sent) == 1 and sent[0]["reasons"] == ["flag"]
    comment = sent[0]["flags"][0]["comment"]
    assert comment.startswith(f"evaluation #{eid}: predicted {first['predicted']} (") and comment.endswith("look again")
    # Accepting a label decides the item: it leaves the queue with the label, and the flag says why.
    r = rev.req("POST", f"/api/v1/evaluations/{eid}/accept", json={"items": [{"item": first["item"], "label": "bird"}]})
    assert r.status_code == 200, r.text
    detail = rev.req("GET", f"/api/v1/projects/zoo/items/{first['item']}").json()
    assert detail["label"] == "bird" and detail["state"] == "final"
    assert any(f["comment"].startswith(f"evaluation #{eid}: accepted bird") and f["resolved"] for f in detail["flags"])
    queue = rev.req("GET", "/api/v1/projects/zoo/review?limit=200").json()
    assert first["item"] not in [i["item_id"] for i in queue["items"]]


def test_compare_two_evaluations(world):
    v = world["clients"]["viewer"]
    a, b = world["evals"]
    c = v.req("GET", f"/api/v1/evaluations/compare?a={a}&b={b}&limit=2").json()
    assert c["paired_items"] == 18
    assert c["fixed"] + c["broken"] + c["both_right"] + c["both_wrong"] == 18
    assert {m["metric"] for m in c["metrics"]} >= {"accuracy", "macro_f1", "ece"}
    assert [p["label"] for p in c["per_class"]] == LABELS
    assert len(c["fixed_items"]) == min(2, c["fixed"]) and len(c["broken_items"]) == min(2, c["broken"])
    same = v.req("GET", f"/api/v1/evaluations/compare?a={a}&b={a}").json()
    assert same["fixed"] == same["broken"] == 0
    only = v.req("GET", f"/api/v1/evaluations/compare?a={a}&b={b}&kind=broken").json()
    assert "fixed_items" not in only and len(only["broken_items"]) == c["broken"]


def test_every_evaluation_route_checks_its_role_and_csrf(world):
    s = world["server"]
    eid = world["evals"][0]
    item = world["clients"]["viewer"].req("GET", f"/api/v1/evaluations/{eid}/items?limit=1").json()["items"][0]["item"]
    routes = [
        ("GET", "/api/v1/evaluations", None, "viewer"),
        ("GET", "/api/v1/evaluations/jobs", None, "viewer"),
        ("GET", "/api/v1/evaluations/jobs/1", None, "viewer"),
        ("GET", f"/api/v1/evaluations/{eid}", None, "viewer"),
        ("GET", f"/api/v1/evaluations/{eid}/items?true=cat", None, "viewer"),
        ("GET", f"/api/v1/evaluations/{eid}/mistakes", None, "viewer"),
        ("GET", f"/api/v1/evaluations/{eid}/label-issues", None, "viewer"),
        ("GET", f"/api/v1/evaluations/compare?a={eid}&b={eid}", None, "viewer"),
        ("POST", "/api/v1/evaluations", {"model": "no-such-model/1"}, "reviewer"),
        ("POST", f"/api/v1/evaluations/{eid}/review", {"items": [item]}, "reviewer"),
        ("POST", f"/api/v1/evaluations/{eid}/accept", {"items": [{"item": item, "label": "cat"}]}, "reviewer"),
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
    # An unknown model is a 404 at once, not a failed job.
    r = world["clients"]["reviewer"].req("POST", "/api/v1/evaluations", json={"model": "no-such-model/1"})
    assert r.status_code == 404


@pytest.mark.parametrize("path,status,words", [
    ("/api/v1/evaluations/abc", 400, "positive integer"),
    ("/api/v1/evaluations/0", 400, "positive integer"),
    ("/api/v1/evaluations/99999999", 404, "no evaluation 99999999"),
    ("/api/v1/evaluations/99999999/items", 404, "no evaluation"),
    ("/api/v1/evaluations/{e}/items?offset=-1", 400, "offset must be"),
    ("/api/v1/evaluations/{e}/items?limit=100000", 400, "limit must be"),
    ("/api/v1/evaluations/{e}/items?limit=0", 400, "limit must be"),
    ("/api/v1/evaluations/{e}/items?true=Sandal", 400, "has no label 'Sandal' (labels: cat, dog, bird)"),
    ("/api/v1/evaluations/{e}/items?pred=%3Cscript%3Ealert(1)%3C%2Fscript%3E", 400, "has no label"),
    ("/api/v1/evaluations/{e}/items?sort=size", 400, "sort must be"),
    ("/api/v1/evaluations/{e}/items?mistakes=maybe", 400, "mistakes must be"),
    ("/api/v1/evaluations/{e}/items?offset=99999", 200, None),
    ("/api/v1/evaluations/compare?a={e}", 400, "give two evaluation ids"),
    ("/api/v1/evaluations/compare?a={e}&b=x", 400, "positive integer"),
    ("/api/v1/evaluations/compare?a={e}&b=99999999", 404, "no evaluation"),
    ("/api/v1/evaluations/compare?a={e}&b={e}&kind=all", 400, "kind must be"),
    ("/api/v1/evaluations/jobs/424242", 404, "no evaluation job"),
])
def test_bad_queries_get_clear_errors(world, path, status, words):
    r = world["clients"]["viewer"].req("GET", path.replace("{e}", str(world["evals"][0])))
    assert r.status_code == status, r.text
    if words:
        assert words in r.json()["error"]["message"]
    else:
        assert r.json()["items"] == []


@pytest.mark.parametrize("path,body,status,words", [
    ("/api/v1/evaluations", {}, 400, '"model" is required'),
    ("/api/v1/evaluations", {"model": "zoo/1", "split": "holdout"}, 400, "holdout"),
    ("/api/v1/evaluations", {"model": "zoo/1", "data": "zoo@v9"}, 404, ""),
    ("/api/v1/evaluations", {"model": "zoo/1", "label_issues": "yes"}, 400, "true or false"),
    ("/api/v1/evaluations", {"model": "zoo/1", "folds": 1}, 400, "folds"),
    ("/api/v1/evaluations/{e}/review", {"items": []}, 400, "1 to 500"),
    ("/api/v1/evaluations/{e}/review", {"items": ["f" * 64]}, 400, "is not in evaluation"),
    ("/api/v1/evaluations/{e}/review", {"items": [3]}, 400, "must be an item id"),
    ("/api/v1/evaluations/{e}/review", {"items": ["x"] * 501}, 400, "1 to 500"),
    ("/api/v1/evaluations/{e}/review", {"items": ["{i}"], "comment": "x" * 1001}, 400, "at most 1,000 bytes"),
    ("/api/v1/evaluations/{e}/accept", {"items": [{"item": "{i}", "label": "Sandal"}]}, 400, "has no label 'Sandal'"),
    ("/api/v1/evaluations/{e}/accept", {"items": ["{i}"]}, 400, "must be {"),
    ("/api/v1/evaluations/99999999/review", {"items": ["{i}"]}, 404, "no evaluation"),
])
def test_bad_bodies_get_clear_errors(world, path, body, status, words):
    eid = world["evals"][0]
    rev = world["clients"]["reviewer"]
    item = rev.req("GET", f"/api/v1/evaluations/{eid}/items?limit=1").json()["items"][0]["item"]
    text = __import__("json").dumps(body).replace("{i}", item)
    before = rev.req("GET", "/api/v1/projects/zoo/review").json()["total"]
    r = rev.req("POST", path.replace("{e}", str(eid)), data=text, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert words in r.json()["error"]["message"]
    # Nothing moved to review by a refused request.
    assert rev.req("GET", "/api/v1/projects/zoo/review").json()["total"] == before
