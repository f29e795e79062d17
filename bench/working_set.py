#!/usr/bin/env python3
"""Is it the accounts or the sessions? `GET /api/me` over many sessions, with the number of
accounts and the number of sessions varied apart (bench/growth.py varies them together).

For one backend: a fresh database is seeded to 10,000 accounts, then to 1,000,000 (the same
bulk SQL as growth.py). Each case starts a fresh server (so the session cache is cold), sends
`GET /api/me` round-robin over the case's sessions for one pass in which every session is
read from the database once ("first"), then 5 s more from the session cache ("cached"):

- 10,000 accounts, the sessions of accounts 1-10,000 (9,000 live: a tenth ended long ago);
- 1,000,000 accounts, the same 9,000 sessions; then 9,000 spread over the million; then
  100,000 spread over the million (growth.py's "many sessions" case at that size).

Prints req/s and p99 ms for each. Usage: python3 bench/working_set.py sqlite|postgres
(after the release build; needs wrk)."""

import argparse
import tempfile
from pathlib import Path

from drive import wrk
from growth import Backend, kid_of, log_ins, signed_access


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("backend", choices=["sqlite", "postgres"])
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        backend = Backend(args.backend, args, data_dir)
        try:
            backend.migrate_with_user()
            first_ten_thousand = [n for n in range(1, 10_000) if n % 10]
            # Seeding leaves a tenth of the sessions long ended; sweeping them before the
            # servers start keeps the first one's start-up sweep out of its figures.
            backend.seed(0, 10_000)
            backend.manage("sweep")
            measure(backend, data_dir, "10,000 accounts, accounts 1-10,000", first_ten_thousand)
            backend.seed(10_000, 1_000_000)
            backend.manage("sweep")
            measure(backend, data_dir, "1,000,000 accounts, accounts 1-10,000",
                    first_ten_thousand)
            # Every hundredth account from 1: all live (n % 10 == 1).
            measure(backend, data_dir, "1,000,000 accounts, 9,000 spread",
                    list(range(1, 1_000_000, 100))[:9_000])
            measure(backend, data_dir, "1,000,000 accounts, 100,000 spread",
                    list(range(1, 1_000_000, 10)))
        finally:
            backend.drop()


def measure(backend, data_dir, label, accounts):
    server = backend.serve()
    try:
        kid = kid_of(log_ins(server, 1)[0]["access"])
        tokens = Path(data_dir) / "access_tokens"
        tokens.write_text("\n".join(signed_access(backend.secret, kid, n) for n in accounts) + "\n")
        env = {"BENCH_ACCESS_FILE": str(tokens)}
        first = wrk(server, "me_many.lua", "/api/me", 64, 2, max(5, len(accounts) // 5000), env)
        cached = wrk(server, "me_many.lua", "/api/me", 64, 2, 5, env)
        print(f"| {backend.name} | {label} | {len(accounts):,} | {first['rps']:,.0f} / "
              f"{first['p99_ms']:.2f} | {cached['rps']:,.0f} / {cached['p99_ms']:.2f} |",
              flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
