"""The web app's API against a real `fsml serve`: sessions, CSRF, the role
matrix of every route in the OpenAPI document, labeling with two annotators,
review, agreement, commit, idempotency, kill -9 during labeling, and hostile
uploads.

Environment (set by tests/e2e/CMakeLists.txt): FSML_BIN, the fsml binary.
"""
import io
import json
import os
import pathlib
import re
import signal
import struct
import subprocess
import time
import uuid
import zipfile
import zlib

import pytest
import requests

ADMIN_PASSWORD = "admin-password-1"
ROLES = ["viewer", "annotator", "reviewer", "admin"]
RANK = {r: i for i, r in enumerate(["public"] + ROLES)}


def fsml_bin():
    path = os.environ.get("FSML_BIN")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("FSML_BIN must name the fsml binary (ctest sets it)")
    return os.path.abspath(path)


def png(width, height, seed):
    """A small grayscale PNG, different for each seed."""
    raw = b"".join(b"\x00" + bytes((x * 7 + y * 13 + seed * 31) % 256 for x in range(width)) for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class Server:
    """`fsml serve` on a free port over a workspace in `root`."""

    def __init__(self, root):
        self.root = root
        self.proc = None
        self.url = None

    def start(self):
        env = dict(os.environ, FSML_ADMIN_PASSWORD=ADMIN_PASSWORD)
        self.err = open(self.root / "serve.err", "ab")
        self.proc = subprocess.Popen([fsml_bin(), "serve", "--listen", "127.0.0.1:0", "--access-log", "off", "--workers", "0"],
                                     cwd=self.root / "ws", env=env, stdout=subprocess.PIPE, stderr=self.err, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"listening on (http://\S+)", line)
        assert m, f"server did not start: {line!r} {(self.root / 'serve.err').read_text()}"
        self.url = m.group(1)
        for _ in range(100):
            try:
                if requests.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        pytest.fail("server not ready")

    def stop(self, kill=False):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.proc = None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    subprocess.run([fsml_bin(), "-q", "init", str(root / "ws")], check=True)
    s = Server(root).start()
    yield s
    s.stop()


class Client:
    """A browser-like session: cookie jar plus the CSRF header."""

    def __init__(self, url):
        self.url = url
        self.s = requests.Session()
        self.csrf = None

    def login(self, name, password):
        r = self.s.post(self.url + "/api/v1/auth/login", json={"name": name, "password": password})
        if r.status_code == 200:
            self.csrf = r.json()["csrf_token"]
        return r

    def req(self, method, path, csrf=True, **kw):
        headers = kw.pop("headers", {})
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            headers["X-CSRF-Token"] = self.csrf
        return self.s.request(method, self.url + path, headers=headers, **kw)


def admin(server):
    c = Client(server.url)
    assert c.login("admin", ADMIN_PASSWORD).status_code == 200
    return c


def ensure_user(server, name, role, password="password-" + "x" * 4):
    a = admin(server)
    r = a.req("POST", "/api/v1/users", json={"name": name, "role": role, "password": password})
    assert r.status_code in (201, 409), r.text
    c = Client(server.url)
    assert c.login(name, password).status_code == 200
    return c


def labeled_zip(labels, train, test, seed=lambda label_index, n: n):
    """`train` + `test` 8x8 PNGs per label, foldered as split/label/file (what
    the upload importer reads as labels and splits); `seed` picks each image."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        n = 0
        for li, label in enumerate(labels):
            for split, count in (("train", train), ("test", test)):
                for _ in range(count):
                    n += 1
                    z.writestr(f"{split}/{label}/img{n:03d}.png", png(8, 8, seed(li, n)))
    return buf.getvalue()


def make_image_project(server, name, n, overlap=1):
    a = admin(server)
    r = a.req("POST", "/api/v1/projects", json={"name": name, "task_type": "image-classification", "overlap": overlap,
                                                "labels": [{"name": "cat", "color": "#aa3300", "hotkey": "c"},
                                                           {"name": "dog"}, {"name": "bird"}],
                                                "guidelines": "# Animals\nLabel the animal."})
    assert r.status_code == 201, r.text
    files = [("file", (f"img{i:03d}.png", png(8, 8, i + hash(name) % 1000), "image/png")) for i in range(n)]
    r = a.req("POST", f"/api/v1/projects/{name}/imports", files=files)
    assert r.status_code == 201, r.text
    assert r.json()["added"] == n
    return a


def rid():
    return uuid.uuid4().hex


def test_login_session_and_logout(server):
    c = Client(server.url)
    r = c.login("admin", ADMIN_PASSWORD)
    assert r.status_code == 200
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=" in cookie
    me = c.req("GET", "/api/v1/auth/me").json()
    assert me["user"] == {"name": "admin", "role": "admin"}
    assert me["csrf_token"] == c.csrf
    assert c.req("POST", "/api/v1/auth/logout").status_code == 200
    r = c.req("GET", "/api/v1/projects")
    assert r.status_code == 401
    # Wrong passwords: one message for unknown names and wrong passwords.
    bad1 = Client(server.url).login("admin", "wrong-password")
    bad2 = Client(server.url).login("no-such-user", "wrong-password")
    assert bad1.status_code == bad2.status_code == 401
    assert bad1.json() == bad2.json()


def test_csrf_is_required_for_session_writes(server):
    a = admin(server)
    body = {"name": "csrf-probe", "task_type": "text-classification", "labels": ["a", "b"]}
    r = a.req("POST", "/api/v1/projects", csrf=False, json=body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = a.req("POST", "/api/v1/projects", csrf=False, json=body, headers={"X-CSRF-Token": "0" * 64})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    assert a.req("POST", "/api/v1/projects", json=body).status_code == 201


def test_login_rate_limit(server):
    c = Client(server.url)
    codes = [c.login("ratelimited", "nope-nope-nope").status_code for _ in range(6)]
    assert codes[:5] == [401] * 5
    assert codes[5] == 429
    r = c.login("ratelimited", "nope-nope-nope")
    assert int(r.headers["Retry-After"]) > 0


def route_matrix(server):
    doc = requests.get(server.url + "/api/v1/openapi.json",
                       cookies=admin(server).s.cookies).json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield method.upper(), path, op["x-fsml-role"]


def test_every_route_checks_its_role(server):
    make_image_project(server, "matrix", 3)
    clients = {role: ensure_user(server, f"m-{role}", role) for role in ROLES}
    tokens = {}
    for role in ROLES:
        out = subprocess.run([fsml_bin(), "token", "create", f"t-{role}", "--user", f"m-{role}"], cwd=server.root / "ws",
                             capture_output=True, text=True, check=True)
        tokens[role] = out.stdout.strip().splitlines()[-1]
    values = {"p": "matrix", "id": "0" * 64, "name": "nobody-here", "a": "v1", "b": "v1", "file": "none.js",
              "ref": "nomodel", "version": "1", "epoch": "1", "n": "1", "alias": "staging"}
    checked = 0
    for method, path, need in route_matrix(server):
        if path in ("/api/v1/auth/logout", "/api/v1/auth/password"):
            continue  # would end the sessions the matrix uses; covered below
        if need == "public":
            continue  # login, health, the app's files: nothing to check
        url_path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
        for role in ROLES:
            for via in ("session", "token"):
                kw = {"data": b"{}", "headers": {"Content-Type": "application/json"}}
                if via == "session":
                    r = clients[role].req(method, url_path, **kw)
                else:
                    kw["headers"]["Authorization"] = "Bearer " + tokens[role]
                    r = requests.request(method, server.url + url_path, **kw)
                allowed = RANK[role] >= RANK[need]
                if allowed:
                    assert r.status_code not in (401, 403), f"{role} via {via}: {method} {path} -> {r.status_code} {r.text}"
                else:
                    assert r.status_code == 403, f"{role} via {via}: {method} {path} -> {r.status_code} {r.text}"
                    assert r.json()["error"]["code"] == "permission_denied"
                checked += 1
        r = requests.request(method, server.url + url_path, data=b"{}", headers={"Content-Type": "application/json"})
        assert r.status_code == 401, f"anonymous: {method} {path} -> {r.status_code}"
    assert checked > 200


def test_annotator_cannot_reach_admin_endpoints(server):
    ann = ensure_user(server, "plain-ann", "annotator")
    r = ann.req("POST", "/api/v1/users", json={"name": "evil", "role": "admin", "password": "password-123"})
    assert r.status_code == 403
    assert "admin role needed" in r.json()["error"]["message"]
    r = ann.req("PATCH", "/api/v1/users/plain-ann", json={"role": "admin"})
    assert r.status_code == 403


def test_two_annotators_disagree_review_agreement_and_commit(server):
    make_image_project(server, "pets", 6, overlap=2)
    ann = ensure_user(server, "ann", "annotator")
    bob = ensure_user(server, "bob", "annotator")
    rev = ensure_user(server, "rita", "reviewer")
    a_items = ann.req("GET", "/api/v1/projects/pets/queue/next?n=6").json()["items"]
    b_items = bob.req("GET", "/api/v1/projects/pets/queue/next?n=6").json()["items"]
    assert [i["item_id"] for i in a_items] == [i["item_id"] for i in b_items]  # overlap 2: both get all
    labels_a = ["cat", "cat", "dog", "dog", "bird", "bird"]
    labels_b = ["cat", "cat", "dog", "dog", "bird", "cat"]
    for who, labels in ((ann, labels_a), (bob, labels_b)):
        batch = [{"item_id": it["item_id"], "label": l, "request_id": rid()} for it, l in zip(a_items, labels)]
        r = who.req("POST", "/api/v1/projects/pets/annotations", json={"annotations": batch})
        assert r.status_code == 200, r.text
    review = rev.req("GET", "/api/v1/projects/pets/review").json()
    assert review["total"] == 1
    item = review["items"][0]
    assert item["reasons"] == ["disagreement"]
    assert sorted(a["user"] for a in item["annotations"]) == ["ann", "bob"]
    # An annotator sees only their own label on an item; a reviewer sees all.
    mine = ann.req("GET", f"/api/v1/projects/pets/items/{item['item_id']}").json()
    assert [a["user"] for a in mine["annotations"]] == ["ann"]
    assert rev.req("POST", f"/api/v1/projects/pets/review/{item['item_id']}", json={"label": "bird"}).status_code == 200
    assert rev.req("GET", "/api/v1/projects/pets/review").json()["total"] == 0
    agreement = rev.req("GET", "/api/v1/projects/pets/agreement").json()
    assert agreement["items"] == 6
    assert abs(agreement["percent_agreement"] - 5 / 6) < 1e-9
    assert agreement["pairs"][0]["a"] == "ann" and agreement["pairs"][0]["b"] == "bob"
    assert agreement["pairs"][0]["cohen_kappa"] is not None
    project = rev.req("GET", "/api/v1/projects/pets").json()
    assert project["progress"]["labeled"] == 6
    assert project["stats"]["per_label"] == {"cat": 2, "dog": 2, "bird": 2}
    r = rev.req("POST", "/api/v1/projects/pets/versions", json={"message": "first labels"})
    assert r.status_code == 201, r.text
    assert r.json()["number"] == 1 and r.json()["items"] == 6
    again = rev.req("POST", "/api/v1/projects/pets/versions", json={"message": "nothing new"})
    assert again.status_code == 409
    assert ann.req("POST", "/api/v1/projects/pets/versions", json={"message": "x"}).status_code == 403
    versions = ann.req("GET", "/api/v1/projects/pets/versions").json()["versions"]
    assert versions[0]["number"] == 1
    diff = ann.req("GET", "/api/v1/projects/pets/versions/v1/diff/v1").json()
    assert diff["unchanged"] == 6


def test_same_label_twice_is_idempotent_and_concurrent_labels_are_kept(server):
    make_image_project(server, "idem", 2)
    ann = ensure_user(server, "ida", "annotator")
    bob = ensure_user(server, "ibo", "annotator")
    item = ann.req("GET", "/api/v1/projects/idem/queue/next?n=1").json()["items"][0]["item_id"]
    body = {"annotations": [{"item_id": item, "label": "dog", "request_id": "fixed-request-1"}]}
    first = ann.req("POST", "/api/v1/projects/idem/annotations", json=body).json()["annotations"][0]
    second = ann.req("POST", "/api/v1/projects/idem/annotations", json=body).json()["annotations"][0]
    assert not first["duplicate"] and second["duplicate"] and first["id"] == second["id"]
    # Bob labels the same item at the same time (his page held it from before): kept, and it goes to review.
    r = bob.req("POST", "/api/v1/projects/idem/annotations",
                json={"annotations": [{"item_id": item, "label": "cat", "request_id": rid()}]})
    assert r.status_code == 200
    detail = admin(server).req("GET", f"/api/v1/projects/idem/items/{item}").json()
    assert sorted(a["user"] for a in detail["annotations"]) == ["ibo", "ida"]
    assert detail["state"] == "review"


def test_undo_skip_flag_history(server):
    make_image_project(server, "flow", 4)
    ann = ensure_user(server, "flo", "annotator")
    items = [i["item_id"] for i in ann.req("GET", "/api/v1/projects/flow/queue/next?n=4").json()["items"]]
    r = ann.req("POST", "/api/v1/projects/flow/annotations",
                json={"annotations": [{"item_id": items[0], "label": "cat", "request_id": rid()}]})
    aid = r.json()["annotations"][0]["id"]
    assert ann.req("POST", f"/api/v1/projects/flow/annotations/{aid}/undo").json()["item_id"] == items[0]
    assert ann.req("POST", f"/api/v1/projects/flow/annotations/{aid}/undo").status_code == 409
    assert ann.req("POST", "/api/v1/projects/flow/skips", json={"item_id": items[1]}).status_code == 200
    r = ann.req("POST", "/api/v1/projects/flow/flags", json={"item_id": items[2], "comment": "two animals"})
    assert r.status_code == 201
    history = ann.req("GET", "/api/v1/projects/flow/annotations?mine=1&limit=10").json()["annotations"]
    assert history[0]["withdrawn"] is True
    review = admin(server).req("GET", "/api/v1/projects/flow/review").json()
    assert review["items"][0]["reasons"] == ["flag"]
    assert review["items"][0]["flags"][0]["comment"] == "two animals"


def test_bad_bodies_get_clear_errors(server):
    make_image_project(server, "bad", 1)
    ann = ensure_user(server, "bada", "annotator")
    cases = [
        ("POST", "/api/v1/projects/bad/annotations", b"{not json", "not valid JSON"),
        ("POST", "/api/v1/projects/bad/annotations", b"[]", "must be a JSON object"),
        ("POST", "/api/v1/projects/bad/annotations", b'{"annotations": 5}', "must be an array"),
        ("POST", "/api/v1/projects/bad/annotations",
         b'{"annotations": [{"item_id": "x", "label": "zebra", "request_id": "abcdefgh"}]}', "has no label 'zebra'"),
        ("POST", "/api/v1/projects/bad/flags", b'{"item_id": 5}', "must be a string"),
        ("GET", "/api/v1/projects/bad/queue/next?n=1000", None, "n must be"),
        ("GET", "/api/v1/projects/nope/queue/next", None, "nope"),
    ]
    for method, path, body, message in cases:
        r = ann.req(method, path, data=body, headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, (path, r.status_code)
        assert message in r.json()["error"]["message"], (path, r.text)
    huge = b'{"annotations": [' + b",".join([b'{"item_id": "x", "label": "cat", "request_id": "abcdefgh"}'] * 101) + b"]}"
    r = ann.req("POST", "/api/v1/projects/bad/annotations", data=huge, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "1 to 100" in r.json()["error"]["message"]


def zip_bytes(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(name, data)
    return buf.getvalue()


def test_hostile_uploads_are_refused_and_change_nothing(server):
    a = admin(server)
    assert a.req("POST", "/api/v1/projects", json={"name": "upl", "task_type": "image-classification",
                                                   "labels": ["cat", "dog"]}).status_code == 201

    def upload(name, data):
        return a.req("POST", "/api/v1/projects/upl/imports", files=[("file", (name, data, "application/octet-stream"))])

    cases = [
        ("traversal.zip", zip_bytes([("../../etc/passwd.png", png(4, 4, 1))]), "leaves the archive"),
        ("absolute.zip", zip_bytes([("/abs.png", png(4, 4, 2))]), ""),
        ("bomb.zip", zip_bytes([("big.png", b"\0" * (50 << 20))]), ""),
        ("fake.png", b"this is not a png at all", "fake.png"),
        ("truncated.zip", zip_bytes([("a.png", png(4, 4, 3))])[:40], ""),
        ("notes.exe", b"MZ", ""),
    ]
    for name, data, message in cases:
        r = upload(name, data)
        assert r.status_code == 400, (name, r.status_code, r.text)
        assert message in r.json()["error"]["message"], (name, r.text)
    project = a.req("GET", "/api/v1/projects/upl").json()
    assert project["progress"]["items"] == 0
    # A good zip with label folders keeps its labels.
    r = upload("good.zip", zip_bytes([("cat/a.png", png(4, 4, 10)), ("dog/b.png", png(4, 4, 11)), ("c.png", png(4, 4, 12))]))
    assert r.status_code == 201, r.text
    assert r.json()["added"] == 3
    project = a.req("GET", "/api/v1/projects/upl").json()
    assert project["progress"]["labeled"] == 2


def test_acknowledged_labels_survive_kill9(tmp_path):
    subprocess.run([fsml_bin(), "-q", "init", str(tmp_path / "ws")], check=True)
    s = Server(tmp_path).start()
    try:
        make_image_project(s, "durable", 30)
        ann = ensure_user(s, "dura", "annotator")
        items = [i["item_id"] for i in ann.req("GET", "/api/v1/projects/durable/queue/next?n=30").json()["items"]]
        acked = []
        for i, item in enumerate(items):
            r = ann.req("POST", "/api/v1/projects/durable/annotations",
                        json={"annotations": [{"item_id": item, "label": "cat", "request_id": f"durable-{i:04d}"}]})
            if r.status_code == 200:
                acked.append(item)
            if i == 20:
                s.stop(kill=True)
                break
        assert len(acked) == 21
    finally:
        s.stop(kill=True)
    s.start()
    try:
        a = admin(s)
        for item in acked:
            assert a.req("GET", f"/api/v1/projects/durable/items/{item}").json()["label"] == "cat", item
        # Re-sending an acknowledged label after the restart writes nothing new.
        ann = Client(s.url)
        ann.login("dura", "password-" + "x" * 4)
        r = ann.req("POST", "/api/v1/projects/durable/annotations",
                    json={"annotations": [{"item_id": acked[0], "label": "cat", "request_id": "durable-0000"}]})
        assert r.json()["annotations"][0]["duplicate"] is True
    finally:
        s.stop()


def test_web_app_is_served_with_security_headers(server):
    r = requests.get(server.url + "/")
    assert r.status_code == 200 and "text/html" in r.headers["Content-Type"]
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY"
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', r.text)
    assert assets, r.text[:500]
    for path in assets:
        a = requests.get(server.url + path)
        assert a.status_code == 200
        assert "immutable" in a.headers["Cache-Control"]
        assert requests.get(server.url + path, headers={"If-None-Match": a.headers["ETag"]}).status_code == 304
    # The app routes its own pages; unknown API paths stay 404 JSON.
    assert requests.get(server.url + "/projects/x/label").text == r.text
    assert requests.get(server.url + "/api/v1/nothing").status_code == 404


def test_password_change_needs_the_current_password_and_ends_sessions(server):
    c = ensure_user(server, "pwuser", "viewer")
    r = c.req("POST", "/api/v1/auth/password", json={"current": "not-it-at-all", "new": "new-password-1"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "invalid_credentials"
    r = c.req("POST", "/api/v1/auth/password", json={"current": "password-" + "x" * 4, "new": "new-password-1"})
    assert r.status_code == 200, r.text
    assert c.req("GET", "/api/v1/projects").status_code == 401  # the session ended with the old password
    assert Client(server.url).login("pwuser", "new-password-1").status_code == 200
