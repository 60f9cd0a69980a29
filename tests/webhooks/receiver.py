"""A real HTTP receiver on loopback (standard library only: the benchmark uses it too)."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each request with the next planned reply (default 200)."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    plan: deque = field(
        default_factory=deque
    )  # items: status int, or ("sleep", s), ("redirect", url)
    got: threading.Condition = field(default_factory=threading.Condition)
    # Seconds every request waits before its answer when the plan is empty: a slow receiver.
    delay: float = 0.0

    def wait_for(self, n: int, timeout: float = 20.0) -> list[Received]:
        end = time.monotonic() + timeout
        with self.got:
            while len(self.requests) < n:
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {n} requests, got {len(self.requests)}"
                    )
                self.got.wait(left)
        return self.requests

    @property
    def bodies(self) -> list[dict]:
        return [r.json for r in self.requests]


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if receiver.plan:
                step = receiver.plan.popleft()
            else:
                step = ("sleep", receiver.delay) if receiver.delay else 200
            with receiver.got:
                receiver.requests.append(
                    Received(self.command, self.path, dict(self.headers), body)
                )
                receiver.got.notify_all()
            if isinstance(step, tuple) and step[0] == "sleep":
                time.sleep(step[1])
                step = 200
            try:
                if isinstance(step, tuple) and step[0] == "redirect":
                    self.send_response(302)
                    self.send_header("Location", step[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                reply = f'{{"received": {len(receiver.requests)}}}'.encode()
                self.send_response(step)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_POST = do_PUT = do_PATCH = do_GET = _any

    return Handler


def start_receiver() -> tuple[Receiver, ThreadingHTTPServer]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    return receiver, server
