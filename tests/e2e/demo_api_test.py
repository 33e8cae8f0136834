"""The flywheel's project settings (collect_below, review_sample_permille)
and the demo's use of the predict route from a browser session, against a
real `fsml serve`.

Environment (set by tests/e2e/CMakeLists.txt): FSML_BIN, the fsml binary.
"""
import base64
import subprocess

import pytest

from web_api_test import Server, admin, ensure_user, fsml_bin, png


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    subprocess.run([fsml_bin(), "-q", "init", str(root / "ws")], check=True)
    s = Server(root).start()
    yield s
    s.stop()


def make_project(a, name, task_type="image-classification"):
    r = a.req("POST", "/api/v1/projects", json={"name": name, "task_type": task_type, "labels": ["cat", "dog"]})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["collect_below"] is None
    assert body["review_sample_permille"] == 0


def test_admin_sets_and_clears_the_flywheel_settings(server):
    a = admin(server)
    make_project(a, "fly")
    r = a.req("PATCH", "/api/v1/projects/fly", json={"collect_below": 0.6, "review_sample_permille": 50})
    assert r.status_code == 200, r.text
    assert r.json()["collect_below"] == pytest.approx(0.6)
    assert r.json()["review_sample_permille"] == 50
    got = a.req("GET", "/api/v1/projects/fly").json()
    assert got["collect_below"] == pytest.approx(0.6) and got["review_sample_permille"] == 50
    listed = {p["name"]: p for p in a.req("GET", "/api/v1/projects").json()["projects"]}
    assert listed["fly"]["collect_below"] == pytest.approx(0.6)
    # 1 collects everything the model is not fully sure of.
    assert a.req("PATCH", "/api/v1/projects/fly", json={"collect_below": 1}).json()["collect_below"] == 1
    r = a.req("PATCH", "/api/v1/projects/fly", json={"collect_below": None, "review_sample_permille": 0})
    assert r.status_code == 200, r.text
    assert r.json()["collect_below"] is None and r.json()["review_sample_permille"] == 0


@pytest.mark.parametrize("body, message", [
    ({"collect_below": 0}, "collect_below"),
    ({"collect_below": 1.5}, "collect_below"),
    ({"collect_below": -0.2}, "collect_below"),
    ({"collect_below": "abc"}, "collect_below"),
    ({"collect_below": True}, "collect_below"),
    ({"review_sample_permille": -1}, "review_sample_permille"),
    ({"review_sample_permille": 1001}, "review_sample_permille"),
    ({"review_sample_permille": 2.5}, "review_sample_permille"),
    ({"review_sample_permille": "10"}, "review_sample_permille"),
    # One bad field stores none of the others.
    ({"collect_below": 0.5, "review_sample_permille": 5000}, "review_sample_permille"),
])
def test_bad_settings_are_refused_and_change_nothing(server, body, message):
    a = admin(server)
    if a.req("GET", "/api/v1/projects/flybad").status_code == 404:
        make_project(a, "flybad")
    r = a.req("PATCH", "/api/v1/projects/flybad", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_argument"
    assert message in r.json()["error"]["message"]
    got = a.req("GET", "/api/v1/projects/flybad").json()
    assert got["collect_below"] is None and got["review_sample_permille"] == 0


def test_text_projects_cannot_collect(server):
    a = admin(server)
    make_project(a, "flytext", "text-classification")
    r = a.req("PATCH", "/api/v1/projects/flytext", json={"collect_below": 0.5})
    assert r.status_code == 400
    assert "image-classification" in r.json()["error"]["message"]
    assert a.req("PATCH", "/api/v1/projects/flytext", json={"collect_below": None}).status_code == 200
    assert a.req("PATCH", "/api/v1/projects/flytext", json={"review_sample_permille": 100}).status_code == 200


def test_only_admins_change_the_settings(server):
    a = admin(server)
    make_project(a, "flyrole")
    for role in ("viewer", "annotator", "reviewer"):
        c = ensure_user(server, f"fly-{role}", role)
        r = c.req("PATCH", "/api/v1/projects/flyrole", json={"collect_below": 0.5})
        assert r.status_code == 403, (role, r.text)
        assert c.req("GET", "/api/v1/projects/flyrole").json()["collect_below"] is None


def test_a_viewer_session_may_call_the_predict_route(server):
    """The demo page predicts with the browser's session cookie and CSRF header."""
    v = ensure_user(server, "fly-demo", "viewer")
    body = {"image_base64": base64.b64encode(png(8, 8, 3)).decode()}
    r = v.req("POST", "/api/v1/models/nomodel@production/predict", json=body)
    assert r.status_code == 404, r.text  # authenticated and allowed: only the model is missing
    assert "nomodel" in r.json()["error"]["message"]
    r = v.req("POST", "/api/v1/models/nomodel@production/predict", csrf=False, json=body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = v.req("GET", "/api/v1/models")
    assert r.status_code == 200 and r.json()["models"] == []


def test_versions_diff_takes_numbers_as_documented(server):
    """The versions page compares any two versions by number (v3, 3 or a tag)."""
    a = admin(server)
    make_project(a, "flydiff")
    files = [("file", (f"c{i}.png", png(8, 8, 700 + i), "image/png")) for i in range(2)]
    assert a.req("POST", "/api/v1/projects/flydiff/imports", files=files).status_code == 201
    items = a.req("GET", "/api/v1/projects/flydiff/queue/next?n=2").json()["items"]
    batch = [{"item_id": it["item_id"], "label": "cat", "request_id": it["item_id"][:32]} for it in items]
    r = a.req("POST", "/api/v1/projects/flydiff/annotations", json={"annotations": batch})
    assert r.status_code in (200, 201), r.text
    assert a.req("POST", "/api/v1/projects/flydiff/versions", json={"message": "one"}).status_code == 201
    for form in ("1/diff/1", "v1/diff/1", "1/diff/v1"):
        r = a.req("GET", f"/api/v1/projects/flydiff/versions/{form}")
        assert r.status_code == 200, (form, r.text)
        assert r.json()["a"] == 1 and r.json()["unchanged"] == 2
    assert a.req("GET", "/api/v1/projects/flydiff/versions/7/diff/1").status_code == 404
