"""The write matrix of bench/run.py's `writes` (see its docstring): PATCH @8 and the bulk insert
with Redis and without, with webhooks delivered to a receiver, with websocket clients watching."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

import psycopg

from bench.load import (
    PATCH_SQL,
    api_call,
    bulk_baseline,
    bulk_insert,
    median_of,
    patch_params,
    psycopg_baseline,
    wrk,
)
from bench.serving import PG_URL, SCHEMA, Server, serve


class Watchers:
    """`n` websocket clients on one table, each reading every message, on a loop of its own."""

    def __init__(self, ws: str, table: str, session: str, n: int):
        self.ws, self.table, self.session, self.n = ws, table, session, n
        self.opened = self.messages = 0
        self.error: BaseException | None = None
        self.stopping = False
        self.ready = threading.Event()

    def __enter__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_until_complete, args=(self._main(),), daemon=True
        )
        self.thread.start()
        if not self.ready.wait(180) or self.error:
            raise SystemExit(
                f"websocket clients: {self.opened} of {self.n} ({self.error!r})"
            )
        time.sleep(
            2
        )  # the joins' presence messages settle, the publishers see the table
        return self

    def __exit__(self, *exc) -> None:
        self.stopping = True
        self.thread.join(30)

    async def _client(self, i: int) -> None:
        from websockets.asyncio.client import connect

        headers = {
            "Cookie": f"sessionid={self.session}",
            "Origin": self.ws.replace("ws://", "http://"),
        }
        url = f"{self.ws}/ws/tables/{self.table}/?client=bench{i}"
        try:
            async with connect(
                url, additional_headers=headers, open_timeout=120, max_size=None
            ) as sock:
                await sock.recv()  # hello
                self.opened += 1
                if self.opened == self.n:
                    self.ready.set()
                while not self.stopping:
                    try:
                        await asyncio.wait_for(sock.recv(), 0.5)
                    except TimeoutError:
                        continue
                    self.messages += 1
        except Exception as exc:
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        await asyncio.gather(*(self._client(i) for i in range(self.n)))


def drained(receiver, since: float, quiet: float = 3.0, limit: float = 600) -> float:
    """Wait until the receiver got nothing new for `quiet` s; seconds from `since` to its last."""
    count, changed = len(receiver.requests), time.monotonic()
    while time.monotonic() - changed < quiet and time.monotonic() - since < limit:
        time.sleep(0.25)
        if len(receiver.requests) != count:
            count, changed = len(receiver.requests), time.monotonic()
    return changed - since


def write_round(srv, state: dict, args, watchers: int = 0, receiver=None) -> dict:
    """PATCH @8 and the bulk insert against `srv`, each next to its psycopg baseline."""
    token, tables = state["token"], state["tables"]
    projects, inserts = tables["projects"], tables["inserts"]
    rec = f"{srv.url}/api/v2/tables/{projects}/records"
    out: dict = {}
    wrk(rec, token, 8, 3, "patch.lua")  # warm: metadata loaded, pools opened
    sent_before = len(receiver.requests) if receiver else 0
    t0 = time.monotonic()
    watch = (
        Watchers(srv.ws, projects, state["session"], watchers)
        if watchers
        else contextlib.nullcontext()
    )
    with watch as w:
        api_runs = [
            wrk(rec, token, 8, args.duration, "patch.lua") for _ in range(args.runs)
        ]
        heard = w.messages if watchers else None
    base_runs = [
        psycopg_baseline(PATCH_SQL, patch_params, 8, min(args.duration, 5))
        for _ in range(args.runs)
    ]
    api, base = median_of(api_runs), median_of(base_runs)
    out["PATCH @8"] = {
        "api": api,
        "psycopg": base,
        "ratio_rps": api["rps"] / base["rps"],
        "api_runs_rps": [round(r["rps"]) for r in api_runs],
    }
    if watchers:
        out["PATCH @8"]["messages_heard"] = heard
    if receiver:
        out["PATCH @8"]["deliveries"] = len(receiver.requests) - sent_before
        out["PATCH @8"]["delivered_within_s"] = round(drained(receiver, t0), 1)
    watch = (
        Watchers(srv.ws, inserts, state["session"], watchers)
        if watchers
        else contextlib.nullcontext()
    )
    sent_before = len(receiver.requests) if receiver else 0
    t0 = time.monotonic()
    with watch as w:
        bulk_insert(srv.url, token, inserts, total=4000)
        api_runs, base_runs = [], []
        for _ in range(args.runs):
            for runs, measure in (
                (
                    api_runs,
                    lambda: bulk_insert(srv.url, token, inserts, args.bulk_rows),
                ),
                (base_runs, lambda: bulk_baseline(args.bulk_rows)),
            ):
                with psycopg.connect(PG_URL, autocommit=True) as conn:
                    conn.execute(f'TRUNCATE "{SCHEMA}".inserts')
                runs.append(measure())
        heard = w.messages if watchers else None
    api, base = median_of(api_runs), median_of(base_runs)
    out["bulk insert"] = {
        "api": api,
        "psycopg": base,
        "ratio_rps": api["rows_per_s"] / base["rows_per_s"],
        "api_runs_rows_per_s": [round(r["rows_per_s"]) for r in api_runs],
    }
    if watchers:
        out["bulk insert"]["messages_heard"] = heard
    if receiver:
        out["bulk insert"]["deliveries"] = len(receiver.requests) - sent_before
        out["bulk insert"]["delivered_within_s"] = round(drained(receiver, t0), 1)
    return out


def alternated(servers: dict, state: dict, args) -> dict:
    """PATCH @8 and the bulk insert on each server in turn, run after run, with psycopg's."""
    token, tables = state["token"], state["tables"]
    projects, inserts = tables["projects"], tables["inserts"]
    patch = {n: [] for n in servers}
    bulk = {n: [] for n in servers}
    base_patch, base_bulk = [], []
    for srv in servers.values():  # warm
        wrk(f"{srv.url}/api/v2/tables/{projects}/records", token, 8, 3, "patch.lua")
        bulk_insert(srv.url, token, inserts, total=4000)
    for _ in range(args.runs):
        for name, srv in servers.items():
            rec = f"{srv.url}/api/v2/tables/{projects}/records"
            patch[name].append(wrk(rec, token, 8, args.duration, "patch.lua"))
        base_patch.append(
            psycopg_baseline(PATCH_SQL, patch_params, 8, min(args.duration, 5))
        )
    for _ in range(args.runs):
        for name, srv in servers.items():
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'TRUNCATE "{SCHEMA}".inserts')
            bulk[name].append(bulk_insert(srv.url, token, inserts, args.bulk_rows))
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'TRUNCATE "{SCHEMA}".inserts')
        base_bulk.append(bulk_baseline(args.bulk_rows))
    bp, bb = median_of(base_patch), median_of(base_bulk)
    out = {}
    for name in servers:
        p, b = median_of(patch[name]), median_of(bulk[name])
        out[name] = {
            "PATCH @8": {
                "api": p,
                "psycopg": bp,
                "ratio_rps": p["rps"] / bp["rps"],
                "api_runs_rps": [round(r["rps"]) for r in patch[name]],
            },
            "bulk insert": {
                "api": b,
                "psycopg": bb,
                "ratio_rps": b["rows_per_s"] / bb["rows_per_s"],
                "api_runs_rows_per_s": [round(r["rows_per_s"]) for r in bulk[name]],
            },
        }
    return out


def writes(srv, state: dict, args, results: dict) -> Server:
    """The write matrix (see the module's docstring); returns the server left running."""
    from tests.webhooks.receiver import start_receiver

    token, tables = state["token"], state["tables"]
    variants = results["writes"] = {}

    def show(name: str, got: dict) -> None:
        variants[name] = got
        p, b = got["PATCH @8"], got["bulk insert"]
        print(
            f"{name:>24}: PATCH @8 {p['api']['rps']:6.0f} req/s p99 {p['api']['p99_ms']:5.1f} ms"
            f" ({p['ratio_rps']:.3f} of psycopg) | bulk {b['api']['rows_per_s']:7.0f} rows/s"
            f" ({b['ratio_rps']:.3f})"
            + (
                f" | sockets heard {p['messages_heard']} + {b['messages_heard']} messages"
                if "messages_heard" in p
                else ""
            )
            + (
                f" | webhook calls {p['deliveries']} + {b['deliveries']}, last"
                f" {p['delivered_within_s']} s / {b['delivered_within_s']} s after the start"
                if "deliveries" in p
                else ""
            ),
            flush=True,
        )

    # Redis against no Redis, alternated run by run on two servers up side by side (the idle
    # one costs next to nothing): on a noisy machine, the fairest comparison there is.
    bare = serve(args.workers, "production", redis=False)
    try:
        for name, got in alternated(
            {"Redis": srv, "no Redis": bare}, state, args
        ).items():
            show(name, got)
    finally:
        bare.stop()
    receiver, http = start_receiver()
    hooks = []
    try:
        for table, event in (
            (tables["projects"], "update"),
            (tables["inserts"], "insert"),
        ):
            hook = api_call(
                "POST",
                f"{srv.url}/api/v2/meta/tables/{table}/hooks",
                token,
                {
                    "title": "bench",
                    "url": receiver.url,
                    "events": [event],
                    "batch_size": 100,
                },
            )
            hooks.append(hook["id"])
        show("Redis + webhook", write_round(srv, state, args, receiver=receiver))
    finally:
        for hook in hooks:
            api_call("DELETE", f"{srv.url}/api/v2/meta/hooks/{hook}", token)
        http.shutdown()
    show("Redis + 100 sockets", write_round(srv, state, args, watchers=100))
    return srv
