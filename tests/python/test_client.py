"""fsml.Client against a running `fsml serve` (predict, jobs, errors), and
against a scripted HTTP server for the answers a healthy server rarely gives
(403, 429, 503, an unknown code, a body that is not JSON, a job that never
finishes)."""
import http.server
import json
import socket
import threading

import pytest

import fsml


@pytest.fixture(scope="module")
def client(server):
    return fsml.Client(server.url, token=server.token)


def test_predict_an_image(client, server):
    p = client.predict("fashion@production", server.png)
    assert p.model == "fashion/1"
    assert p.label in server.labels and 0 < p.probability <= 1
    probs = [x.probability for x in p.predictions]
    assert probs == sorted(probs, reverse=True) and len(probs) == 5
    same = client.predict("fashion/1", server.png_path, top_k=3)  # a path, a fixed version
    assert [x.label for x in same.predictions] == [x.label for x in p.predictions][:3]
    assert client.predict("fashion", server.png).model == "fashion/1"  # the latest version


def test_jobs_submit_wait_and_results(client, server):
    job = client.submit_job("fashion@production", [server.png, {"item": server.png_item}], top_k=2)
    assert job.state in ("queued", "running", "succeeded") and job.id
    done = client.wait(job.id, timeout=30)
    assert done.state == "succeeded" and done.done and done.model == "fashion/1"
    assert len(done.results) == 2 and all(r.ok and len(r.predictions) == 2 for r in done.results)
    direct = client.predict("fashion@production", server.png, top_k=2)
    assert [x.label for x in done.results[0].predictions] == [x.label for x in direct.predictions]
    assert client.job(job.id).state == "succeeded"
    assert job.id in [j.id for j in client.jobs(state="succeeded")]
    # The same idempotency key gives back the same job.
    a = client.submit_job("fashion@production", server.png, idempotency_key="pytest-1")
    b = client.submit_job("fashion@production", server.png, idempotency_key="pytest-1")
    assert a.id == b.id


def test_job_with_a_bad_input_reports_it_per_input(client, server):
    job = client.wait(client.submit_job("fashion@production", [b"not an image", server.png]).id, timeout=30)
    assert job.state == "succeeded"
    bad, good = job.results
    assert isinstance(bad.error, fsml.InvalidArgument) and not bad.ok and good.ok


def test_api_errors_are_typed(client, server):
    with pytest.raises(fsml.NotFound) as e:
        client.predict("shoes@production", server.png)
    assert e.value.http_status == 404 and e.value.code == "not_found" and "shoes" in str(e.value)
    with pytest.raises(fsml.NotFound):
        client.job("no-such-job")
    with pytest.raises(fsml.Unauthenticated) as e:
        fsml.Client(server.url, token="fsml_" + "0" * 40).predict("fashion", server.png)
    assert e.value.http_status == 401 and isinstance(e.value, PermissionError)
    assert fsml.Unauthorized is fsml.Unauthenticated
    with pytest.raises(fsml.Unauthenticated):
        fsml.Client(server.url, token="").models()
    with pytest.raises(fsml.InvalidArgument) as e:
        client.predict("fashion", b"GIF89a not really")
    assert e.value.http_status == 400
    with pytest.raises(fsml.InvalidArgument):
        client.predict("fashion", "a text for an image model")
    with pytest.raises(fsml.InvalidArgument):
        client.submit_job("fashion", [])
    with pytest.raises(fsml.InvalidArgument, match="a job input is"):
        client.submit_job("fashion", [3.5])
    with pytest.raises(fsml.InvalidArgument, match="is not http"):
        fsml.Client("127.0.0.1:8080")
    assert server.token not in repr(client)


def test_models_and_ready(client):
    models = client.models()
    assert models["models"][0]["name"] == "fashion" and models["models"][0]["aliases"] == {"production": 1}
    assert client.ready()


def test_url_and_token_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("FSML_URL", server.url)
    monkeypatch.setenv("FSML_TOKEN", server.token)
    assert fsml.Client().predict("fashion", server.png).model == "fashion/1"


def test_unreachable_server_is_unavailable():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = fsml.Client(f"http://127.0.0.1:{port}", token="t", timeout=5)
    with pytest.raises(fsml.Unavailable, match=f"cannot reach fsml server http://127.0.0.1:{port}") as e:
        c.job("x")
    assert isinstance(e.value, ConnectionError)
    assert not c.ready()


@pytest.fixture
def scripted():
    """An HTTP server answering each request with the next (status, body) of `answers`."""
    answers = []
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            seen.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))
            status, body = answers.pop(0) if len(answers) > 1 else answers[0]
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield fsml.Client(f"http://127.0.0.1:{httpd.server_address[1]}", token="secret"), answers, seen
    httpd.shutdown()


def error(code, message="m"):
    return {"error": {"code": code, "message": message}}


@pytest.mark.parametrize("status,body,cls", [
    (403, error("permission_denied"), fsml.PermissionDenied),
    (429, error("resource_exhausted"), fsml.ResourceExhausted),
    (413, error("payload_too_large"), fsml.PayloadTooLarge),
    (415, error("unsupported_media_type"), fsml.UnsupportedMediaType),
    (503, error("unavailable"), fsml.Unavailable),
    (409, error("failed_precondition"), fsml.FailedPrecondition),
    (500, error("internal"), fsml.Internal),
    (400, error("bad_request"), fsml.InvalidArgument),
    (502, b"<html>bad gateway</html>", fsml.Unavailable),
    (418, b"I'm a teapot", fsml.Error),
    (503, b"down for maintenance", fsml.Unavailable),
])
def test_error_codes_map_to_classes(scripted, status, body, cls):
    client, answers, _ = scripted
    answers.append((status, body))
    with pytest.raises(cls) as e:
        client.job("j1")
    assert type(e.value) is cls and e.value.http_status == status
    if isinstance(body, bytes):
        assert f"HTTP {status}" in str(e.value)


def test_unknown_error_code_keeps_its_code(scripted):
    client, answers, _ = scripted
    answers.append((418, error("teapot", "short and stout")))
    with pytest.raises(fsml.Error) as e:
        client.job("j1")
    assert e.value.code == "teapot" and str(e.value) == "short and stout"


def test_wait_times_out_naming_the_job(scripted):
    client, answers, seen = scripted
    answers.append((200, {"id": "j7", "state": "running", "attempts": 1}))
    with pytest.raises(fsml.Timeout, match="job j7 is still running after 0.3 s") as e:
        client.wait("j7", timeout=0.3)
    assert isinstance(e.value, TimeoutError)
    assert len(seen) >= 2 and seen[0][2]["Authorization"] == "Bearer secret"


def test_requests_carry_what_the_api_expects(scripted, tmp_path):
    client, answers, seen = scripted
    answers.append((200, {"model": "m/1", "predictions": [{"label": "a", "probability": 0.9}]}))
    png = b"\x89PNG\r\n\x1a\n" + b"rest"
    client.predict("m@prod", png, top_k=1)
    method, path, headers, body = seen[-1]
    assert (method, path, headers["Content-Type"], body) == ("POST", "/api/v1/models/m@prod/predict?top_k=1",
                                                              "image/png", png)
    client.predict("m", "some text")
    assert json.loads(seen[-1][3]) == {"text": "some text"} and seen[-1][2]["Content-Type"] == "application/json"
    answers[:] = [(202, {"id": "j", "state": "queued", "attempts": 0})]
    client.submit_job("m", ["t", b"\xff\xd8\xff", {"item": "ab" * 32}], idempotency_key="k")
    sent = json.loads(seen[-1][3])
    assert sent == {"model": "m", "idempotency_key": "k",
                    "inputs": [{"text": "t"}, {"image_base64": "/9j/"}, {"item": "ab" * 32}]}
