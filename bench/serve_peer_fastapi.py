#!/usr/bin/python3
"""The peer for bench/serve_bench.sh: the model server a Python user writes
instead of `fsml serve`. FastAPI (Debian's python3-fastapi) served by uvicorn
(python3-uvicorn) with N worker processes; each worker loads the model once
from the folder `fsml models export` wrote (its fsml_model.py: load() and
preprocess()) and answers

    POST /predict?top_k=K   body: the raw image bytes (PNG or JPEG)
    -> 200 {"model": "NAME/N", "predictions": [{"label": ..., "probability": ...}, ...]}

the same JSON shape as fsml's POST /api/v1/models/{ref}/predict. GET /readyz
answers 200 once the worker has loaded the model.

    bench/serve_peer_fastapi.py --model EXPORT_DIR --port 8000 --workers 2 [--threads 1] [--ref fashion/1]

TCP_NODELAY: asyncio turns Nagle's algorithm off only on sockets whose
`proto` is IPPROTO_TCP (asyncio.base_events._set_nodelay). uvicorn with
--workers > 1 binds the listening socket itself with socket.socket(AF_INET,
SOCK_STREAM) (proto 0), so the sockets it accepts keep Nagle on; uvicorn's
h11 protocol writes a response's headers and body in two send() calls, and the
body then waits for the client's delayed ACK (~40 ms on Linux) on every
keep-alive request. (With 1 worker uvicorn calls loop.create_server(host,
port), whose sockets come from getaddrinfo with proto 6, and the problem does
not show.) This server passes uvicorn a subclass of its h11 protocol
(`http=NoDelayH11Protocol`, a documented uvicorn.Config argument that takes a
protocol class) that sets TCP_NODELAY on every accepted socket, for any
worker count; --nagle leaves uvicorn as it is, to show the difference.

Spreading connections over workers: uvicorn's --workers N shares one
listening socket between the processes, and asyncio accepts up to 100
connections per wake-up, so a burst of keep-alive connections (wrk opens all
64 at once) often lands on one process, which then serves everything while
the other idles. With --balance reuseport (the default for --workers > 1)
this script starts N processes itself, each running uvicorn.Server on its own
listening socket bound with SO_REUSEPORT, and the kernel spreads new
connections over them by a hash of their addresses (as gunicorn --reuse-port
or nginx's reuseport do). --balance shared uses uvicorn's own --workers.
"""
import argparse
import asyncio
import io
import os
import socket
import sys

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with Nagle's algorithm off on the accepted socket."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        super().connection_made(transport)


def make_app():
    """The FastAPI app; the model folder, ref and threads come from the environment
    (uvicorn's worker processes import this module afresh)."""
    import numpy as np
    import torch
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from PIL import Image

    folder = os.environ["PEER_MODEL_DIR"]
    sys.path.insert(0, folder)
    from fsml_model import load, preprocess  # the exported loader

    torch.set_num_threads(int(os.environ.get("PEER_THREADS", "1")))
    model, spec = load(folder)
    labels = spec["labels"]
    ref = os.environ.get("PEER_MODEL_REF", "model")
    i = spec["input"]
    mode = {1: "L", 3: "RGB"}[i["channels"]]
    size = (i["width"], i["height"])

    app = FastAPI()

    def error(status, code, message):
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)

    @app.get("/readyz")
    async def readyz():
        return {"status": "ready"}

    @app.post("/predict")
    async def predict(request: Request, top_k: int = 5):
        body = await request.body()
        try:
            img = Image.open(io.BytesIO(body))
            img = img.convert(mode)
        except Exception as e:  # noqa: BLE001 (any decoder error is the client's)
            return error(400, "bad_image", f"cannot decode the image: {e}")
        if img.size != size:
            img = img.resize(size, Image.BILINEAR)
        x = preprocess(np.asarray(img, dtype=np.uint8)[None], spec)
        with torch.inference_mode():
            probs = model(x).softmax(1)[0]
        k = max(1, min(top_k, len(labels)))
        p, idx = probs.topk(k)
        return {"model": ref,
                "predictions": [{"label": labels[j], "probability": float(q)} for q, j in zip(p.tolist(), idx.tolist())]}

    return app


def serve_reuseport(host, port, kwargs):
    """One worker of --balance reuseport: uvicorn on its own SO_REUSEPORT socket."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    config = uvicorn.Config("serve_peer_fastapi:make_app", **kwargs)
    uvicorn.Server(config).run(sockets=[sock])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="folder written by `fsml models export`")
    ap.add_argument("--ref", default="model", help="the model name reported in answers, e.g. fashion/1")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--balance", choices=["reuseport", "shared"], default="reuseport",
                    help="with --workers > 1: a SO_REUSEPORT socket per process (default) or uvicorn's shared socket")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads per worker")
    ap.add_argument("--nagle", action="store_true", help="leave uvicorn's sockets as they are (no TCP_NODELAY fix)")
    a = ap.parse_args()
    os.environ["PEER_MODEL_DIR"] = os.path.abspath(a.model)
    os.environ["PEER_MODEL_REF"] = a.ref
    os.environ["PEER_THREADS"] = str(a.threads)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import serve_peer_fastapi  # this file as a module, so that worker processes find the protocol class
    kwargs = dict(log_level="warning", access_log=False, factory=True,
                  http="h11" if a.nagle else serve_peer_fastapi.NoDelayH11Protocol)
    if a.workers > 1 and a.balance == "reuseport":
        import multiprocessing
        import signal
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=serve_peer_fastapi.serve_reuseport, args=(a.host, a.port, kwargs))
                 for _ in range(a.workers)]
        for p in procs:
            p.start()

        def stop(*_):
            for p in procs:
                if p.is_alive():
                    p.terminate()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        for p in procs:
            p.join()
        return
    uvicorn.run("serve_peer_fastapi:make_app", host=a.host, port=a.port, workers=a.workers, **kwargs)


if __name__ == "__main__":
    main()
