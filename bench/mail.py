#!/usr/bin/env python3
"""Mail figures, on the release binary with SQLite and an SMTP sink on loopback (Python's own
smtpd, in this process):

- delivery latency: from sending a sign-up request to its verification mail arriving at the
  SMTP server (the request queues the mail in its transaction; the sender is woken at once),
  and from the request's answer to the mail's arrival;
- password-reset timing: POST /fn/forgot_password for addresses that have an account and for
  addresses that do not, interleaved, each address once (so no throttle is hit). The answer
  must not tell them apart: the difference of the medians is printed beside the noise (the
  difference between the medians of two halves of the same kind).

Started by bench/run.sh after the release build; `python3 bench/mail.py --help` for options."""

import argparse
import secrets
import statistics
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import warnings

from drive import Server, call, free_port

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import asyncore
    import smtpd


class Sink(smtpd.SMTPServer):
    """Records when each recipient's first mail arrived."""

    def __init__(self, port):
        super().__init__(("127.0.0.1", port), None, decode_data=False)
        self.arrived = {}
        self.event = threading.Condition()

    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        now = time.perf_counter()
        with self.event:
            for rcpt in rcpttos:
                self.arrived.setdefault(rcpt.lower(), now)
            self.event.notify_all()

    def wait_for(self, address, timeout=30):
        with self.event:
            if not self.event.wait_for(lambda: address in self.arrived, timeout):
                raise SystemExit(f"no mail to {address} within {timeout} s")
            return self.arrived[address]


def form_post(server, path, fields, forwarded):
    request = urllib.request.Request(
        server.base + path,
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Origin": server.base, "X-Forwarded-For": forwarded,
                 "Content-Type": "application/x-www-form-urlencoded"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        status = response.status
    return started, time.perf_counter() - started, status


def ms(values):
    return statistics.median(values) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=50, help="sign-ups timed to their mail")
    parser.add_argument("--resets", type=int, default=200, help="reset requests of each kind")
    args = parser.parse_args()

    port = free_port()
    sink = Sink(port)
    threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.05}, daemon=True).start()
    with tempfile.TemporaryDirectory() as data:
        server = Server("sqlite", f"sqlite://{data}/bench.db", data,
                        {"SMTP_URL": f"smtp://127.0.0.1:{port}"})
        try:
            latencies, after_answer = [], []
            for i in range(args.mails):
                email = f"latency{i}@example.com"
                started, took, _ = form_post(server, "/fn/signup", {
                    "email": email, "username": f"latency{i}", "password": "correct horse battery staple",
                }, f"10.1.{i // 250}.{i % 250}")
                arrived = sink.wait_for(email)
                latencies.append(arrived - started)
                after_answer.append(arrived - started - took)

            known = [f"known{i}@example.com" for i in range(args.resets)]
            for i, email in enumerate(known):
                call(server.base, "/api/register", {
                    "email": email, "username": f"known{i}", "password": "correct horse battery staple",
                }, forwarded=f"10.2.{i // 250}.{i % 250}")
            timings = {"known": [], "unknown": []}
            for i in range(args.resets):
                for kind in ("known", "unknown"):
                    email = known[i] if kind == "known" else f"nobody{i}-{secrets.token_hex(4)}@example.com"
                    _, took, status = form_post(server, "/fn/forgot_password", {"email": email},
                                                f"10.3.{i // 250}.{i % 250}")
                    assert status == 200, status
                    timings[kind].append(took)
        finally:
            server.stop()

    print(f"mail delivery, request to SMTP server: median {ms(latencies):.1f} ms, "
          f"p90 {statistics.quantiles(latencies, n=10)[-1] * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms "
          f"({len(latencies)} sign-ups; the request itself hashes the password with argon2); "
          f"after the answer: median {ms(after_answer):.1f} ms")
    known_ms, unknown_ms = ms(timings["known"]), ms(timings["unknown"])
    halves = [ms(timings[k][0::2]) - ms(timings[k][1::2]) for k in timings]
    print(f"password reset answer: known address median {known_ms:.2f} ms, unknown {unknown_ms:.2f} ms, "
          f"difference {known_ms - unknown_ms:+.2f} ms; noise (same kind, two halves) "
          f"{halves[0]:+.2f} / {halves[1]:+.2f} ms ({args.resets} of each)")


if __name__ == "__main__":
    main()
