"""An fsml job worker in plain Python, the worked example of docs/jobs.md.

Consumes fsml.jobs, classifies each job's image_base64 inputs with a model
exported by `fsml models export REF DIR`, publishes a `succeeded` event to
fsml.results (publisher confirms), then acks the job. The fsml server
declares the queues; start it first.

Usage: /usr/bin/python3 pika_worker.py AMQP_URL EXPORT_DIR [--max-jobs N]
Needs Debian's python3-pika, python3-pil, python3-torch and python3-numpy."""
import argparse, base64, io, json, os, re, socket, sys

import numpy as np
import pika
import torch
from PIL import Image

ap = argparse.ArgumentParser(description="fsml job worker in Python")
ap.add_argument("url")
ap.add_argument("export_dir")
ap.add_argument("--max-jobs", type=int, default=0, help="exit after N jobs (0: run until interrupted)")
args = ap.parse_args()
sys.path.insert(0, args.export_dir)
from fsml_model import load, preprocess  # noqa: E402  (written by fsml models export)

model, spec = load(args.export_dir)
c, h, w = (spec["input"][k] for k in ("channels", "height", "width"))
# spec.json does not name the version; the export's README.md starts with "# NAME/N".
heading = open(os.path.join(args.export_dir, "README.md")).readline().strip()
ref = heading[2:] if re.fullmatch(r"# [\w.-]+/\d+", heading) else None
worker, done = f"{socket.gethostname()}/{os.getpid()}", 0


def error(code, message):
    return {"error": {"code": code, "message": message}}


def classify(i, item, top_k):
    if not isinstance(item, dict) or not isinstance(item.get("image_base64"), str):
        return error("invalid_argument", f"inputs[{i}]: this worker takes image_base64 inputs only")
    try:
        img = Image.open(io.BytesIO(base64.b64decode(item["image_base64"], validate=True)))
        img = img.convert("L" if c == 1 else "RGB")
    except (ValueError, OSError, Image.DecompressionBombError) as e:  # binascii.Error is a ValueError
        return error("invalid_argument", f"inputs[{i}]: image_base64 is not a readable image ({type(e).__name__})")
    if img.size != (w, h):
        img = img.resize((w, h), Image.BILINEAR)
    with torch.no_grad():
        probs = model(preprocess(np.asarray(img)[None], spec)).softmax(1)[0].tolist()
    best = sorted(range(len(probs)), key=lambda k: -probs[k])[:top_k]  # stable, as fsml's
    return {"predictions": [{"label": spec["labels"][k], "probability": probs[k]} for k in best]}


def on_job(ch, method, props, body):
    global done
    attempt = 1 + int((props.headers or {}).get("x-delivery-count", 0))
    event = {"format": "fsml.job_event", "version": 1, "id": props.message_id, "attempt": attempt, "worker": worker}
    try:
        job = json.loads(body)
        if job.get("format") != "fsml.job" or not isinstance(job.get("inputs"), list):
            raise ValueError("not an fsml.job")
        event["id"], top_k = job["id"], max(1, int(job.get("top_k", 5)))
    except (ValueError, TypeError, KeyError, AttributeError):
        event.update(event="failed", **error("invalid_argument", "malformed job message (see docs/jobs.md)"))
    else:
        if ref and re.split("[@/]", str(job.get("model")))[0] != ref.split("/")[0]:
            event.update(event="failed", **error("not_found", f"this worker serves {ref}, not {job.get('model')}"))
        else:
            results = [classify(i, item, top_k) for i, item in enumerate(job["inputs"])]
            event.update(event="succeeded", model=ref or job["model"], results=results)
    # Returns once the broker has stored the event; raises if it cannot (then the job is redelivered).
    ch.basic_publish("", "fsml.results", json.dumps(event).encode(), mandatory=True, properties=pika.BasicProperties(
        delivery_mode=2, content_type="application/json", message_id=event["id"]))
    done += 1
    if done == args.max_jobs:
        ch.stop_consuming()  # before the ack, so no further job is handed to this worker
    ch.basic_ack(method.delivery_tag)
    print(f"{event['id']}: {event['event']} (attempt {attempt})", file=sys.stderr, flush=True)


conn = pika.BlockingConnection(pika.URLParameters(args.url))
ch = conn.channel()
ch.confirm_delivery()
try:  # passive: the server owns the queues' arguments
    ch.queue_declare("fsml.jobs", passive=True)
    ch.queue_declare("fsml.results", passive=True)
except pika.exceptions.ChannelClosedByBroker as e:
    sys.exit(f"pika_worker: {e.reply_text}: start `fsml serve --queue {args.url}` or `fsml worker` first: they declare the queues")
ch.basic_qos(prefetch_count=1)
ch.basic_consume("fsml.jobs", on_job)
try:
    ch.start_consuming()
except KeyboardInterrupt:
    pass
conn.close()
