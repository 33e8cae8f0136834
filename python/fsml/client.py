"""A client of `fsml serve`'s HTTP API (src/serve/openapi.json), on the
standard library alone: predictions now, and jobs through the queue.

Errors are the API's: ``{"error": {"code", "message"}}`` answers raise the
:mod:`fsml.errors` class of that code (``fsml.NotFound``,
``fsml.Unauthenticated``, ``fsml.InvalidArgument``, ...) with the server's
message and ``http_status``; a server that cannot be reached raises
:class:`fsml.Unavailable`.
"""
import base64
import dataclasses
import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

from .errors import Error, InvalidArgument, Timeout, Unavailable, from_code

__all__ = ["Client", "Prediction", "LabelProbability", "Job", "JobResult"]

TERMINAL_STATES = ("succeeded", "failed", "dead")


@dataclasses.dataclass(frozen=True)
class LabelProbability:
    label: str
    probability: float


@dataclasses.dataclass(frozen=True)
class Prediction:
    """The answer to one input: the model version that gave it (``"fashion/3"``)
    and labels sorted by probability."""
    model: str
    predictions: list

    @property
    def label(self):
        """The most probable label."""
        return self.predictions[0].label

    @property
    def probability(self):
        return self.predictions[0].probability

    @classmethod
    def _from_json(cls, d):
        return cls(d.get("model"), [LabelProbability(p["label"], p["probability"]) for p in d["predictions"]])


@dataclasses.dataclass(frozen=True)
class JobResult:
    """One input's result: ``predictions``, or an ``error`` (an fsml.Error)."""
    predictions: list
    error: Error = None

    @property
    def ok(self):
        return self.error is None


@dataclasses.dataclass(frozen=True)
class Job:
    """A job's state: ``queued``, ``running``, ``succeeded``, ``failed`` or ``dead``;
    ``results`` (one per input) once it succeeded; ``error`` when it failed.
    ``raw`` is the server's JSON."""
    id: str
    state: str
    attempts: int
    model_ref: str
    model: str
    inputs: int
    results: list
    error: Error
    raw: dict

    @property
    def done(self):
        """True once the job will not change any more."""
        return self.state in TERMINAL_STATES

    @classmethod
    def _from_json(cls, d):
        def error(e):
            return from_code(e.get("code", "internal"), e.get("message", "")) if e else None
        results = []
        for r in d.get("results") or []:
            preds = [LabelProbability(p["label"], p["probability"]) for p in r.get("predictions", [])]
            results.append(JobResult(preds, error(r.get("error"))))
        return cls(d["id"], d["state"], d.get("attempts", 0), d.get("model_ref"), d.get("model"),
                   d.get("inputs"), results, error(d.get("error")), d)


def _image_type(data):
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    return None


def _job_input(x):
    """One job input in the API's form: bytes (an image), str (text), a path
    (an image file), or a dict already in the API's form ({"item": id}, ...)."""
    if isinstance(x, dict):
        return x
    if isinstance(x, (bytes, bytearray, memoryview)):
        return {"image_base64": base64.b64encode(bytes(x)).decode("ascii")}
    if isinstance(x, str):
        return {"text": x}
    if isinstance(x, os.PathLike):
        with open(x, "rb") as f:
            return {"image_base64": base64.b64encode(f.read()).decode("ascii")}
    raise InvalidArgument(f"a job input is bytes (an image), str (text), a path or a dict, not {type(x).__name__}")


class Client:
    """A client of one fsml server.

    ``url`` defaults to ``$FSML_URL``, else ``http://127.0.0.1:8080``; ``token``
    (from ``fsml token create NAME``) to ``$FSML_TOKEN``. ``timeout`` is the
    seconds one HTTP request may take. Thread safety: one client may be used
    from several threads (each request is its own connection).
    """

    def __init__(self, url=None, token=None, timeout=30.0):
        url = url or os.environ.get("FSML_URL") or "http://127.0.0.1:8080"
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InvalidArgument(f"server URL {url!r} is not http://HOST:PORT")
        self.url = url.rstrip("/")
        self._token = token if token is not None else os.environ.get("FSML_TOKEN")
        self.timeout = timeout

    def __repr__(self):
        return f"<fsml.Client {self.url}>"  # never the token

    # -- prediction
    def predict(self, model_ref, input, top_k=5):
        """Classifies one input now: ``bytes`` of a PNG or JPEG, a path to one,
        or ``str`` text. ``model_ref`` is ``"name"`` (latest), ``"name@alias"``
        or ``"name/N"``. Returns a :class:`Prediction`."""
        path = f"/api/v1/models/{self._ref_path(model_ref)}/predict"
        if isinstance(input, os.PathLike):
            with open(input, "rb") as f:
                input = f.read()
        if isinstance(input, (bytes, bytearray, memoryview)):
            data = bytes(input)
            kind = _image_type(data)
            if kind:
                body, content_type = data, kind
            else:  # let the server say what is wrong with it
                body, content_type = json.dumps({"image_base64": base64.b64encode(data).decode("ascii")}), None
        elif isinstance(input, str):
            body, content_type = json.dumps({"text": input}), None
        else:
            raise InvalidArgument(f"predict() takes bytes (an image), a path or str (text), not {type(input).__name__}")
        return Prediction._from_json(self._request("POST", path, body, content_type, query={"top_k": top_k}))

    # -- jobs
    def submit_job(self, model_ref, inputs, idempotency_key=None, top_k=None):
        """Queues a job over ``inputs`` (each bytes, a path, str, or a dict in
        the API's form such as ``{"item": ITEM_ID}``). Returns the :class:`Job`
        as accepted (state ``queued``); with an ``idempotency_key`` used
        before, the job submitted then."""
        if isinstance(inputs, (bytes, str, dict)) or isinstance(inputs, os.PathLike):
            inputs = [inputs]
        request = {"model": model_ref, "inputs": [_job_input(x) for x in inputs]}
        if not request["inputs"]:
            raise InvalidArgument("a job needs at least one input")
        if idempotency_key is not None:
            request["idempotency_key"] = idempotency_key
        if top_k is not None:
            request["top_k"] = top_k
        return Job._from_json(self._request("POST", "/api/v1/jobs", json.dumps(request)))

    def job(self, job_id):
        """The job's current state and, once succeeded, its results."""
        return Job._from_json(self._request("GET", f"/api/v1/jobs/{urllib.parse.quote(str(job_id), safe='')}"))

    def jobs(self, state=None, limit=100):
        """Jobs, newest first (without results)."""
        query = {"limit": limit}
        if state is not None:
            query["state"] = state
        return [Job._from_json(j) for j in self._request("GET", "/api/v1/jobs", query=query)["jobs"]]

    def wait(self, job_id, timeout=60.0, poll=0.05):
        """Polls the job until it is done (succeeded, failed or dead) and returns
        it; raises :class:`fsml.Timeout` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job.done:
                return job
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout(f"job {job_id} is still {job.state} after {timeout:g} s")
            time.sleep(min(poll, left))
            poll = min(poll * 2, 1.0)

    # -- the server
    def models(self):
        """Registered models with their aliases, and what the server has loaded."""
        return self._request("GET", "/api/v1/models")

    def ready(self):
        """True when the server answers /readyz with 200."""
        try:
            self._request("GET", "/readyz", auth=False)
            return True
        except Error:
            return False

    # -- HTTP
    @staticmethod
    def _ref_path(ref):
        if not isinstance(ref, str) or not ref:
            raise InvalidArgument(f"a model ref is 'name', 'name@alias' or 'name/N', not {ref!r}")
        return urllib.parse.quote(ref, safe="@/")

    def _request(self, method, path, body=None, content_type=None, query=None, auth=True):
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = body.encode() if isinstance(body, str) else body
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type or "application/json"
        if auth and self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as e:
            raise self._http_error(e, method, path) from None
        except (urllib.error.URLError, ConnectionError, socket.timeout) as e:
            reason = getattr(e, "reason", e)
            raise Unavailable(f"cannot reach fsml server {self.url}: {reason}") from None
        try:
            return json.loads(payload) if payload else {}
        except ValueError:
            raise Error(f"{method} {path}: the server's answer is not JSON: {payload[:200]!r}") from None

    @staticmethod
    def _http_error(e, method, path):
        raw = e.read()
        try:
            err = json.loads(raw)["error"]
            return from_code(err["code"], err["message"], http_status=e.code)
        except (ValueError, KeyError, TypeError):
            text = raw[:200].decode("utf-8", "replace")
            # Not the API's answer (a proxy's, say): the status alone decides.
            code = {401: "unauthenticated", 403: "permission_denied", 404: "not_found", 413: "payload_too_large",
                    415: "unsupported_media_type", 429: "resource_exhausted", 500: "internal", 502: "unavailable",
                    503: "unavailable", 504: "unavailable"}.get(e.code, f"http_{e.code}")
            return from_code(code, f"{method} {path}: HTTP {e.code} {text}".strip(), http_status=e.code)
