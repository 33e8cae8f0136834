"""The peer for bench/jobs_bench.sh: the batch-prediction job queue a Python
user builds instead of fsml's jobs, with Celery (Debian's python3-celery 5.2)
on the same RabbitMQ, in its reliable setting:

  task_acks_late=True            a message is acked after the task ran, so a
                                 worker that dies mid-task loses nothing
  task_reject_on_worker_lost     ... and the message goes back to the queue
  worker_prefetch_multiplier=1   each worker process holds one unacked message

Each worker process (prefork pool) loads the model once, at start-up
(worker_process_init), from the folder `fsml models export` wrote, through
its fsml_model.py. The task `predict` takes one PNG as base64 and returns the
top-k labels in the same shape as a fsml job's result.

Configured from the environment (read at import, in the worker and the client):
  PEER_BROKER     amqp://... (the same broker fsml uses)
  PEER_BACKEND    result backend: rpc:// (results as messages back to the
                  client, over the same broker) or file:///DIR (one file per
                  task in DIR)
  PEER_MODEL_DIR  the export folder; PEER_MODEL_REF the name in answers
  PEER_READY_DIR  a worker process writes ready-PID there once its model is loaded

    PYTHONPATH=bench python3 -m celery -A jobs_peer_celery worker --concurrency 2 --loglevel WARNING
"""
import base64
import io
import os
import sys

from celery import Celery
from celery.signals import worker_process_init
from kombu import Exchange, Queue

app = Celery("jobs_peer", broker=os.environ.get("PEER_BROKER", "amqp://guest:guest@127.0.0.1:5672//"),
             backend=os.environ.get("PEER_BACKEND", "rpc://"))
# A classic durable queue: Celery 5.2 cannot consume from a quorum queue
# (RabbitMQ answers "queue ... does not support global qos").
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_persistent=True,  # rpc://: result messages are persistent (delivery_mode 2), like fsml's
    task_default_queue="peer.jobs",
    task_queues=[Queue("peer.jobs", Exchange("peer.jobs"), routing_key="peer.jobs", durable=True)],
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)

_model = None


@worker_process_init.connect
def _load_model(**_):
    """Loads the model once per worker process, before it takes tasks."""
    global _model
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import torch
    folder = os.environ["PEER_MODEL_DIR"]
    sys.path.insert(0, folder)
    from fsml_model import load
    torch.set_num_threads(1)
    model, spec = load(folder)
    _model = (model, spec)
    ready = os.environ.get("PEER_READY_DIR")
    if ready:
        open(os.path.join(ready, f"ready-{os.getpid()}"), "w").close()


@app.task(name="predict")
def predict(image_base64, top_k=5):
    import numpy as np
    import torch
    from PIL import Image
    from fsml_model import preprocess
    model, spec = _model
    i = spec["input"]
    img = Image.open(io.BytesIO(base64.b64decode(image_base64))).convert({1: "L", 3: "RGB"}[i["channels"]])
    if img.size != (i["width"], i["height"]):
        img = img.resize((i["width"], i["height"]), Image.BILINEAR)
    x = preprocess(np.asarray(img, dtype=np.uint8)[None], spec)
    with torch.inference_mode():
        probs = model(x).softmax(1)[0]
    p, idx = probs.topk(max(1, min(top_k, len(spec["labels"]))))
    return {"model": os.environ.get("PEER_MODEL_REF", "model"),
            "results": [{"predictions": [{"label": spec["labels"][j], "probability": float(q)}
                                         for q, j in zip(p.tolist(), idx.tolist())]}]}
