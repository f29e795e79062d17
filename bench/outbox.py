#!/usr/bin/env python3
"""Mail at volume: how fast the outbox takes mail in and gets it out to an SMTP server on
loopback, and what a large backlog does to requests.

- queued per second: `POST /api/auth/password/reset` for random existing addresses from random
  clients (each answer has queued one mail in its transaction), wrk at 64 connections, while
  the sender delivers;
- delivered per second: a backlog of 100,000 queued mails (inserted in bulk while no server
  runs) drained by one instance, and on PostgreSQL by two instances sharing the queue, into an
  SMTP sink in this process (Python's smtpd, counting what arrives);
- requests meanwhile: `GET /api/me` in 5-second wrk rounds for the first 30 seconds of each
  drain, each round's p99 beside the same request's p99 with an empty queue; the delivery
  rate is taken from the rest of the drain (wrk on the same two cores would starve the sink).

Started by bench/run.sh after the release build; `python3 bench/outbox.py --help` for options."""

import argparse
import json
import os
import secrets
import sqlite3
import subprocess
import tempfile
import threading
import time
import warnings
from pathlib import Path

from drive import PASSWORD, USER, Server, call, free_port, wrk
from growth import Backend, parse_with_backends, psql

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import asyncore
    import smtpd

TEXT = "Someone asked to reset the password of your account.\n" * 20
HTML = "<p>Someone asked to reset the password of your account.</p>\n" * 20


class Sink(smtpd.SMTPServer):
    """Counts the mails that arrive, and wakes whoever waits for a count."""

    def __init__(self, port):
        super().__init__(("127.0.0.1", port), None, decode_data=False)
        self.port = port
        self.received = 0
        self.changed = threading.Condition()

    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        with self.changed:
            self.received += 1
            self.changed.notify_all()

    def count(self):
        with self.changed:
            return self.received


def queue_backlog(backend, count):
    t = int(time.time())
    if backend.name == "sqlite":
        with sqlite3.connect(backend.path) as db:
            db.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
                "INSERT INTO mail_outbox (recipient, subject, text_body, html_body, created_at, "
                "next_attempt_at) SELECT 'backlog' || i || '@example.com', 'Reset your password', "
                "?, ?, ?, ? FROM n", (count, TEXT, HTML, t, t))
    else:
        psql(backend.url, (
            "INSERT INTO mail_outbox (recipient, subject, text_body, html_body, created_at, "
            "next_attempt_at) SELECT 'backlog' || i || '@example.com', 'Reset your password', "
            f"$t${TEXT}$t$, $t${HTML}$t$, to_timestamp({t}), to_timestamp({t}) "
            f"FROM generate_series(1, {count}) AS i; ANALYZE mail_outbox;"))


def queued(backend):
    if backend.name == "sqlite":
        with sqlite3.connect(backend.path) as db:
            return db.execute("SELECT COUNT(*) FROM mail_outbox").fetchone()[0]
    out = subprocess.run(["psql", backend.url, "-tAc", "SELECT COUNT(*) FROM mail_outbox"],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def serve(backend, smtp_port):
    return Server(backend.name, backend.url, backend.data_dir,
                  {"JWT_SECRET": backend.secret, "ACCESS_TOKEN_TTL": "3600",
                   "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}"})


def drain(backend, sink, instances, args, env):
    """Starts `instances` servers on a queue of args.backlog mails (and whatever was left in
    it): wrk rounds on the first for the first args.load_seconds of the drain, then nothing
    but the drain until the sink has them all. The load takes the machine's two cores from
    the sink too, so the delivery rate is taken from the unloaded part."""
    queue_backlog(backend, args.backlog)
    total = queued(backend)
    target = sink.count() + total
    started = time.monotonic()
    servers = [serve(backend, sink.port) for _ in range(instances)]
    try:
        rounds = []
        while sink.count() < target and time.monotonic() - started < args.load_seconds:
            rounds.append(wrk(servers[0], "me.lua", "/api/me", 64, 2, args.seconds, env))
        unloaded_from, unloaded_count = time.monotonic(), sink.count()
        with sink.changed:
            if not sink.changed.wait_for(lambda: sink.received >= target, timeout=args.limit):
                raise SystemExit(f"{backend.name}: {target - sink.received} mails still "
                                 f"queued after {args.limit} s")
        finished = time.monotonic()
    finally:
        for server in servers:
            server.stop()
    unloaded = target - unloaded_count
    return {"instances": instances, "mails": total, "seconds": round(finished - started, 1),
            "delivered_per_s": round(unloaded / max(finished - unloaded_from, 1e-9), 1),
            "delivered_under_load": total - unloaded,
            "me_rounds": [{"rps": r["rps"], "p99_ms": r["p99_ms"]} for r in rounds],
            "me_p99_worst_ms": max((r["p99_ms"] for r in rounds), default=0.0),
            "me_rps_mean": round(sum(r["rps"] for r in rounds) / max(len(rounds), 1), 1)}


def run_backend(name, args, sink):
    with tempfile.TemporaryDirectory() as data_dir:
        backend = Backend(name, args, data_dir)
        try:
            backend.manage("migrate")
            backend.seed(0, args.accounts)
            server = serve(backend, sink.port)
            try:
                call(server.base, "/api/register", {"email": f"{USER}@example.com",
                                                    "username": USER, "password": PASSWORD})
                access = call(server.base, "/api/token",
                              {"username": USER, "password": PASSWORD})["access"]
                env = {"BENCH_ACCESS": access, "BENCH_USERS": str(args.accounts)}
                idle = wrk(server, "me.lua", "/api/me", 64, 2, args.seconds, env)
                before = sink.count()
                resets = wrk(server, "reset.lua", "/api/auth/password/reset", 64, 2,
                             args.seconds, env)
                made = sink.count() - before + queued(backend)
            finally:
                server.stop()
            result = {"me_idle": idle, "resets": resets,
                      "queued_per_s": round(made / resets["seconds"], 1)}
            print(f"  {name:8} me, empty queue: {idle['rps']:.0f} req/s, p99 {idle['p99_ms']:.2f} ms",
                  flush=True)
            print(f"  {name:8} reset requests: {resets['rps']:.0f} req/s, "
                  f"{result['queued_per_s']:.0f} mails queued/s", flush=True)
            result["drains"] = []
            for instances in [1, 2] if name == "postgres" else [1]:
                d = drain(backend, sink, instances, args, env)
                result["drains"].append(d)
                print(f"  {name:8} {d['mails']:,} queued mails, {instances} instance(s): "
                      f"drained in {d['seconds']} s, {d['delivered_per_s']:.0f} delivered/s "
                      f"unloaded; me in the first {args.load_seconds} s: "
                      f"{d['me_rps_mean']:.0f} req/s, worst round p99 "
                      f"{d['me_p99_worst_ms']:.2f} ms ({d['delivered_under_load']:,} delivered "
                      "meanwhile)", flush=True)
            return result
        finally:
            backend.drop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", 5)))
    parser.add_argument("--limit", type=int, default=1800, help="seconds a drain may take")
    parser.add_argument("--load-seconds", type=int, default=30,
                        help="seconds of GET /api/me load at the start of each drain")
    args, backends = parse_with_backends(parser, "outbox.json")
    sink = Sink(free_port())
    threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.05}, daemon=True).start()
    results = {name: run_backend(name, args, sink) for name in backends}
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
