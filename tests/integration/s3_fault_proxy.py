#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of an S3 server, for tests.

Forwards every request unchanged (the Host header included, so SigV4
signatures stay valid for servers that check them) to --upstream, and can
break the conversation on purpose:

  fail_next N         answer the next N requests with fail_status/fail_code
                      (503 SlowDown by default, or e.g. 500 InternalError)
  fail_match TEXT     ...counting only requests whose "METHOD /path?query"
                      line contains TEXT (e.g. "partNumber=")
  fail_after_forward  forward those requests first, then answer with the
                      failure anyway (an answer lost on the way back)
  delay_ms M          wait M ms before forwarding each request
  corrupt_get_body    flip one byte of every successful object GET body
  corrupt_etag        "put", "get" or "all": answer with a wrong ETag
  expect_key_id ID    answer 403 InvalidAccessKeyId unless the Authorization
                      header's Credential names access key id ID

Set them with CLI flags at start or at any time with
  POST /__fault   {"fail_next": 3, "fail_status": 503, "fail_code": "SlowDown", ...}
(keys left out keep their value). GET /__stats answers
  {"requests": n, "failed": n, "in_flight": n, "max_in_flight": n, "log": ["PUT /b/k?...", ...]}
and POST /__reset_stats zeroes it. Control paths are not counted.

Usage: s3_fault_proxy.py --upstream http://127.0.0.1:4599 [--port 0] [--port-file F] [flags]
With --port 0 the chosen port is printed on stdout and written to --port-file.
Python standard library only.
"""

import argparse
import http.client
import http.server
import json
import os
import re
import sys
import threading
import time
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length"}
CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


class Faults:
    """Fault settings and counters, shared by the handler threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.fail_next = 0
        self.fail_status = 503
        self.fail_code = "SlowDown"
        self.fail_match = ""
        self.fail_after_forward = False
        self.delay_ms = 0
        self.corrupt_get_body = False
        self.corrupt_etag = ""
        self.expect_key_id = ""
        self.reset_stats()

    def reset_stats(self):
        self.requests = 0
        self.failed = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.log = []

    def update(self, settings):
        with self.lock:
            for key, value in settings.items():
                if key not in ("fail_next", "fail_status", "fail_code", "fail_match", "fail_after_forward",
                               "delay_ms", "corrupt_get_body", "corrupt_etag", "expect_key_id"):
                    raise ValueError("unknown fault setting %r" % key)
                setattr(self, key, type(getattr(self, key))(value))

    def stats(self):
        with self.lock:
            return {"requests": self.requests, "failed": self.failed, "in_flight": self.in_flight,
                    "max_in_flight": self.max_in_flight, "log": list(self.log)}


def error_xml(code, message):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '<RequestId>fault-proxy</RequestId></Error>' % (code, message)).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    faults = None    # set by main()
    upstream = None  # urllib.parse result

    def log_message(self, fmt, *args):  # quiet: tests read /__stats instead
        pass

    def do_GET(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def do_HEAD(self):
        self.handle_any()

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status, body, headers=(), head=False):
        self.send_response_only(status)
        for name, value in headers:
            self.send_header(name, value)
        if not any(name.lower() == "content-length" for name, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def handle_control(self, body):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/__fault" and self.command == "POST":
            try:
                self.faults.update(json.loads(body or b"{}"))
            except (ValueError, TypeError) as e:
                self.reply(400, str(e).encode(), [("Content-Type", "text/plain")])
                return
            self.reply(200, b"{}", [("Content-Type", "application/json")])
        elif path == "/__stats" and self.command == "GET":
            self.reply(200, json.dumps(self.faults.stats()).encode(), [("Content-Type", "application/json")])
        elif path == "/__reset_stats" and self.command == "POST":
            with self.faults.lock:
                self.faults.reset_stats()
            self.reply(200, b"{}", [("Content-Type", "application/json")])
        else:
            self.reply(404, b"unknown control path", [("Content-Type", "text/plain")])

    def handle_any(self):
        body = self.read_body()
        if self.path.startswith("/__"):
            self.handle_control(body)
            return
        f = self.faults
        with f.lock:
            f.requests += 1
            f.in_flight += 1
            f.max_in_flight = max(f.max_in_flight, f.in_flight)
            line = "%s %s" % (self.command, self.path)
            f.log.append(line)
            failing = f.fail_next > 0 and f.fail_match in line
            if failing:
                f.fail_next -= 1
                f.failed += 1
            status, code, after_forward = f.fail_status, f.fail_code, f.fail_after_forward
            delay, expect = f.delay_ms, f.expect_key_id
            corrupt_body, corrupt_etag = f.corrupt_get_body, f.corrupt_etag
        head = self.command == "HEAD"
        try:
            if expect:
                m = CREDENTIAL.search(self.headers.get("Authorization", ""))
                if not m or m.group(1) != expect:
                    self.reply(403, error_xml("InvalidAccessKeyId",
                                              "The AWS Access Key Id you provided does not exist in our records."),
                               [("Content-Type", "application/xml")], head)
                    return
            if failing:
                if after_forward:
                    self.forward(body)
                self.reply(status, error_xml(code, "Injected by s3_fault_proxy."),
                           [("Content-Type", "application/xml")], head)
                return
            if delay:
                time.sleep(delay / 1000.0)
            resp_status, resp_headers, resp_body = self.forward(body)
            is_object = self.command in ("GET", "HEAD") and "list-type" not in self.path
            if corrupt_body and self.command == "GET" and is_object and resp_status == 200 and resp_body:
                middle = len(resp_body) // 2
                resp_body = resp_body[:middle] + bytes([resp_body[middle] ^ 0x01]) + resp_body[middle + 1:]
            if corrupt_etag in ("all", self.command.lower()):
                resp_headers = [(n, '"%s"' % ("0" * 32) if n.lower() == "etag" else v) for n, v in resp_headers]
            if head:
                length = [(n, v) for n, v in resp_headers if n.lower() == "content-length"]
                self.reply(resp_status, b"", self.end_to_end(resp_headers) + length, head=True)
            else:
                self.reply(resp_status, resp_body, self.end_to_end(resp_headers))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout test)
        finally:
            with f.lock:
                f.in_flight -= 1

    @staticmethod
    def end_to_end(headers):
        return [(n, v) for n, v in headers if n.lower() not in HOP_BY_HOP]

    def forward(self, body):
        headers = {n: v for n, v in self.headers.items() if n.lower() not in HOP_BY_HOP}
        if body or self.command in ("PUT", "POST"):
            headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):  # a kept-alive upstream connection may have closed
            conn = self.upstream_connection()
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                return resp.status, resp.getheaders(), data
            except (http.client.HTTPException, ConnectionError):
                self.drop_upstream_connection()
                if attempt == 2:
                    raise

    _local = threading.local()

    def upstream_connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self.upstream.scheme == "https" else http.client.HTTPConnection
            conn = cls(self.upstream.hostname, self.upstream.port, timeout=120)
            self._local.conn = conn
        return conn

    def drop_upstream_connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--upstream", required=True, help="the S3 server, e.g. http://127.0.0.1:4599")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--fail-next", type=int, default=0)
    p.add_argument("--fail-status", type=int, default=503)
    p.add_argument("--fail-code", default="SlowDown")
    p.add_argument("--fail-match", default="")
    p.add_argument("--fail-after-forward", action="store_true")
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--corrupt-get-body", action="store_true")
    p.add_argument("--corrupt-etag", choices=["", "put", "get", "all"], default="")
    p.add_argument("--expect-key-id", default="")
    args = p.parse_args()

    faults = Faults()
    faults.update({"fail_next": args.fail_next, "fail_status": args.fail_status, "fail_code": args.fail_code,
                   "fail_match": args.fail_match, "fail_after_forward": args.fail_after_forward,
                   "delay_ms": args.delay_ms, "corrupt_get_body": args.corrupt_get_body,
                   "corrupt_etag": args.corrupt_etag, "expect_key_id": args.expect_key_id})
    Handler.faults = faults
    Handler.upstream = urllib.parse.urlsplit(args.upstream)
    server = Server((args.host, args.port), Handler)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as out:
            out.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print(port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
