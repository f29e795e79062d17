#!/usr/bin/env python3
"""The admin API at scale: 1,000,000 accounts (inserted in bulk by SQL, as a migration of an
existing user base would be), then wrk on the account list's first page, its last page (the
keyset cursor walks back from the end), a search by username prefix and one by address
prefix, on SQLite and PostgreSQL. Prints req/s and p99 per request, and the static file's in
the same run for scale.

Started by bench/run.sh after the release build; `python3 bench/admin.py --help` for options."""

import argparse
import base64
import json
import os
import subprocess
import sqlite3
import tempfile
import time

from drive import BINARY, Server, call, superuser_token, wrk

# What a seeded account's password hash is: not a valid hash, so nobody logs in as one.
NO_PASSWORD = "!unusable"


def seed_sqlite(path, count):
    started = time.monotonic()
    with sqlite3.connect(path) as db:
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO users (username, username_key, email, email_key, password_hash, "
            "first_name, last_name, is_active, email_verified, date_joined) "
            "SELECT printf('user%07d', i), printf('user%07d', i), "
            "printf('user%07d@example.com', i), printf('user%07d@example.com', i), ?, "
            "printf('First%d', i % 1000), printf('Last%d', i % 997), 1, i % 2, 1700000000 + i FROM n",
            (count, NO_PASSWORD),
        )
    return time.monotonic() - started


def seed_postgres(url, count):
    started = time.monotonic()
    sql = (
        "INSERT INTO users (username, username_key, email, email_key, password_hash, "
        "first_name, last_name, is_active, email_verified, date_joined) "
        "SELECT 'user' || lpad(i::text, 7, '0'), 'user' || lpad(i::text, 7, '0'), "
        "'user' || lpad(i::text, 7, '0') || '@example.com', "
        "'user' || lpad(i::text, 7, '0') || '@example.com', "
        f"'{NO_PASSWORD}', 'First' || (i % 1000), 'Last' || (i % 997), TRUE, i % 2 = 0, "
        f"to_timestamp(1700000000 + i) FROM generate_series(1, {count}) AS i; ANALYZE users;"
    )
    subprocess.run(["psql", url, "-qc", sql], check=True)
    return time.monotonic() - started


def bench(backend, args):
    last_page = base64.urlsafe_b64encode(b"p").decode().rstrip("=")
    scenarios = [
        ("first page", "/api/admin/users"),
        ("last page", f"/api/admin/users?cursor={last_page}"),
        ("search username", "/api/admin/users?search=user05432"),
        ("search email", "/api/admin/users?search=user0999999%40exa"),
        ("filter + sort", "/api/admin/users?is_active=true&ordering=-date_joined"),
    ]
    with tempfile.TemporaryDirectory() as data_dir:
        if backend == "sqlite":
            database_url = f"sqlite://{data_dir}/latchkey.db"
        else:
            name = f"latchkey_bench_admin_{os.getpid()}"
            subprocess.run(["psql", args.postgres, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
            subprocess.run(["psql", args.postgres, "-qc", f"CREATE DATABASE {name}"], check=True)
            database_url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
        # Migrated, then seeded, then served: the bulk insert holds the write lock for seconds.
        subprocess.run([str(BINARY), "migrate"], check=True, capture_output=True,
                       env={"PATH": os.environ.get("PATH", ""), "DATA_DIR": data_dir,
                            "DATABASE_URL": database_url})
        seconds = (seed_sqlite(f"{data_dir}/latchkey.db", args.users) if backend == "sqlite"
                   else seed_postgres(database_url, args.users))
        server = Server(backend, database_url, data_dir, {"ACCESS_TOKEN_TTL": "3600"})
        try:
            token = superuser_token(server, data_dir, database_url)
            page = call(server.base, "/api/admin/users?search=user05432", token=token)
            assert page["count"] == 100, page["count"]
            rows = []
            static = wrk(server, "static.lua", "/favicon.svg", args.connections, 2, args.seconds, {})
            rows.append(("static file", static))
            for label, path in scenarios:
                result = wrk(server, "me.lua", path, args.connections, 2, args.seconds,
                             {"BENCH_ACCESS": token})
                if result["non_2xx"] or result["socket_errors"]:
                    raise SystemExit(f"{label}: {result}")
                rows.append((label, result))
        finally:
            server.stop()
            if backend == "postgres":
                subprocess.run(["psql", args.postgres, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                               check=False)
    print(f"\n{backend}: {args.users:,} accounts seeded in {seconds:.1f} s; "
          f"{args.connections} connections, {args.seconds} s each")
    print(f"| {'request':<16} | {'req/s':>9} | {'p50 ms':>7} | {'p99 ms':>7} |")
    print(f"| {'-' * 16} | {'-' * 9}: | {'-' * 7}: | {'-' * 7}: |")
    for label, r in rows:
        print(f"| {label:<16} | {r['rps']:>9.0f} | {r['p50_ms']:>7.2f} | {r['p99_ms']:>7.2f} |")
    return {label: r for label, r in rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", 5)))
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = {backend: bench(backend, args) for backend in backends}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
