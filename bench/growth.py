#!/usr/bin/env python3
"""How latchkey's costs grow with its data: the same requests with 10,000, 100,000 and
1,000,000 accounts on SQLite and PostgreSQL, each account with the rows a real one has.

For each backend: a fresh database is migrated; the benchmark's own accounts (one to log in
with, a superuser for the admin API) are made through the server and the command line; then
the accounts are seeded in bulk SQL up to each size in turn (the same database grows) and a
freshly started server is measured with wrk:

- seeded per account: one live session (with its user agent and address) and its refresh
  token, one used (rotated) refresh token, three security events within the last 90 days;
  and one throttle counter per ten accounts; a tenth of the sessions are long expired
  (their tokens too), what every instance's housekeeping sweeps;
- requests: the static file (scale), `GET /api/me` with one session and with up to 100,000
  sessions in turn (each a seeded account's, tokens signed here with the server's secret, so
  the session cache misses once per session), `POST /api/token/verify`, refresh, log-in,
  a password-reset request for a random seeded address from a random client, the admin list's
  last page, admin searches by username prefix and by address, `GET /sessions` (the page) of
  a seeded account, and `latchkey sweep` with its run time and the p99 of `GET /api/me`
  measured while it runs (another instance sweeping);
- memory: the server's RSS when idle after start, and after the many-sessions run.

Last, with the largest size: a million expired rows (sessions with their refresh tokens) are
added while the server runs, twice, and the p99 of `GET /api/me`, then of password-reset
requests (writes), is measured while `latchkey sweep` deletes them (`--sweep-only` runs just
this, after seeding the largest size).

Started by bench/run.sh after the release build; `python3 bench/growth.py --help` for options.
Prints the tables of bench/README.md and writes bench/growth.json."""

import argparse
import base64
import concurrent.futures
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from drive import BINARY, PASSWORD, ROOT, USER, Server, call, peak_rss_mb, wrk

NO_PASSWORD = "!unusable"  # not a hash: nobody logs in as a seeded account
FIRST_SEEDED = 1001  # seeded ids start here; the benchmark's own accounts come first
DAY = 86_400
MANY_SESSIONS = 100_000


def now():
    return int(time.time())


# --- seeding: one SQL statement per table and range, on each backend -------------------------

def sqlite_seed(path, start, end, expired_sessions=False):
    """Accounts start..end-1 (ids FIRST_SEEDED + n) and their rows."""
    t = now()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode = WAL")
        series = ("WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?) ")
        if expired_sessions:
            db.execute(series + "INSERT INTO sessions (id, user_id, created_at, last_used_at, "
                       "client_ip, user_agent, authenticated_at) SELECT 'x' || i, ? + i % ?, "
                       "? - 200 * 86400, ? - 200 * 86400, '10.1.2.3', 'Firefox', ? - 200 * 86400 "
                       "FROM n", (start, end - 1, FIRST_SEEDED, USERS_FOR_EXPIRED, t, t, t))
            db.execute(series + "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) "
                       "SELECT 'xh' || i, 'x' || i, ? - 170 * 86400 FROM n", (start, end - 1, t))
            return
        db.execute(series + (
            "INSERT INTO users (id, username, username_key, email, email_key, password_hash, "
            "first_name, last_name, is_active, email_verified, date_joined, last_login) "
            "SELECT ? + i, printf('user%07d', i), printf('user%07d', i), "
            "printf('user%07d@example.com', i), printf('user%07d@example.com', i), ?, "
            "printf('First%d', i % 1000), printf('Last%d', i % 997), 1, 1, ? - i % 1000 * 3600, "
            "? - i % 7 * 86400 FROM n"), (start, end - 1, FIRST_SEEDED, NO_PASSWORD, t, t))
        # A tenth of the sessions ended long ago (their tokens expired): the sweep's work.
        db.execute(series + (
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, client_ip, user_agent, "
            "authenticated_at) SELECT 's' || i, ? + i, "
            "CASE WHEN i % 10 = 0 THEN ? - 100 * 86400 ELSE ? - i % 20 * 86400 END, "
            "? - i % 86400, '10.' || (i % 250) || '.' || (i / 250 % 250) || '.1', "
            "'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', "
            "? - i % 20 * 86400 FROM n"), (start, end - 1, FIRST_SEEDED, t, t, t, t))
        db.execute(series + (
            "INSERT INTO refresh_tokens (token_hash, session_id, expires_at, used_at) "
            "SELECT 'live' || i, 's' || i, "
            "CASE WHEN i % 10 = 0 THEN ? - 70 * 86400 ELSE ? + 86400 END, NULL FROM n "
            "UNION ALL SELECT 'used' || i, 's' || i, ? + 86400, ? - 3600 FROM n"),
            (start, end - 1, t, t, t, t))
        db.execute(series + (
            "INSERT INTO security_events (user_id, kind, at, client_ip, user_agent) "
            "SELECT ? + i, k.kind, ? - (i % 80) * 86400 - k.n, '10.0.0.1', 'Firefox' "
            "FROM n, (SELECT 'login' AS kind, 0 AS n UNION ALL SELECT 'login', 60 "
            "UNION ALL SELECT 'password_changed', 120) AS k"), (start, end - 1, FIRST_SEEDED, t))
        db.execute(series + (
            "INSERT INTO throttles (bucket, hits, window_start) "
            "SELECT 'login-ip:seed' || i, 1, ? - i % 7200 FROM n WHERE i % 10 = 0"),
            (start, end - 1, t))


def postgres_seed(url, start, end, expired_sessions=False):
    t = now()
    series = f"generate_series({start}, {end - 1}) AS i"
    if expired_sessions:
        sql = (
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, client_ip, user_agent, "
            f"authenticated_at) SELECT 'x' || i, {FIRST_SEEDED} + i % {USERS_FOR_EXPIRED}, "
            f"to_timestamp({t} - 200 * 86400), to_timestamp({t} - 200 * 86400), '10.1.2.3', "
            f"'Firefox', to_timestamp({t} - 200 * 86400) FROM {series};"
            "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) "
            f"SELECT 'xh' || i, 'x' || i, to_timestamp({t} - 170 * 86400) FROM {series};"
            "ANALYZE sessions; ANALYZE refresh_tokens;")
    else:
        sql = (
            "INSERT INTO users (id, username, username_key, email, email_key, password_hash, "
            "first_name, last_name, is_active, email_verified, date_joined, last_login) "
            f"SELECT {FIRST_SEEDED} + i, 'user' || lpad(i::text, 7, '0'), "
            "'user' || lpad(i::text, 7, '0'), 'user' || lpad(i::text, 7, '0') || '@example.com', "
            "'user' || lpad(i::text, 7, '0') || '@example.com', "
            f"'{NO_PASSWORD}', 'First' || (i % 1000), 'Last' || (i % 997), TRUE, TRUE, "
            f"to_timestamp({t} - i % 1000 * 3600), to_timestamp({t} - i % 7 * 86400) "
            f"FROM {series};"
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, client_ip, user_agent, "
            f"authenticated_at) SELECT 's' || i, {FIRST_SEEDED} + i, "
            f"to_timestamp(CASE WHEN i % 10 = 0 THEN {t} - 100 * 86400 ELSE {t} - i % 20 * 86400 END), "
            f"to_timestamp({t} - i % 86400), '10.' || (i % 250) || '.' || (i / 250 % 250) || '.1', "
            "'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', "
            f"to_timestamp({t} - i % 20 * 86400) FROM {series};"
            "INSERT INTO refresh_tokens (token_hash, session_id, expires_at, used_at) "
            "SELECT 'live' || i, 's' || i, "
            f"to_timestamp(CASE WHEN i % 10 = 0 THEN {t} - 70 * 86400 ELSE {t} + 86400 END), NULL "
            f"FROM {series} UNION ALL SELECT 'used' || i, 's' || i, to_timestamp({t} + 86400), "
            f"to_timestamp({t} - 3600) FROM {series};"
            "INSERT INTO security_events (user_id, kind, at, client_ip, user_agent) "
            f"SELECT {FIRST_SEEDED} + i, k.kind, to_timestamp({t} - (i % 80) * 86400 - k.n), "
            f"'10.0.0.1', 'Firefox' FROM {series}, (VALUES ('login', 0), ('login', 60), "
            "('password_changed', 120)) AS k(kind, n);"
            "INSERT INTO throttles (bucket, hits, window_start) "
            f"SELECT 'login-ip:seed' || i, 1, to_timestamp({t} - i % 7200) FROM {series} "
            "WHERE i % 10 = 0;"
            "ANALYZE;")
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True)


USERS_FOR_EXPIRED = 1_000  # the expired sessions of the sweep test belong to these accounts


# --- tokens for seeded sessions ---------------------------------------------------------------

def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_access(secret, kid, n):
    """An access token of seeded account n's session, as the server would sign it."""
    t = now()
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    user_id = FIRST_SEEDED + n
    claims = {"sub": str(user_id), "user_id": user_id, "sid": f"s{n}", "jti": secrets.token_hex(8),
              "iat": t, "exp": t + 3600, "token_type": "access", "email_verified": True,
              "amr": ["pwd"], "auth_time": t - 60}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def kid_of(token):
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


# --- the run ---------------------------------------------------------------------------------

class Backend:
    def __init__(self, name, args, data_dir):
        self.name = name
        self.data_dir = data_dir
        if name == "sqlite":
            self.path = f"{data_dir}/latchkey.db"
            self.url = f"sqlite://{self.path}"
            self.db_name = None
        else:
            self.db_name = f"latchkey_bench_growth_{os.getpid()}"
            self.admin_url = args.postgres
            psql(args.postgres, f'DROP DATABASE IF EXISTS "{self.db_name}"')
            psql(args.postgres, f'CREATE DATABASE "{self.db_name}"')
            self.url = args.postgres.rsplit("/", 1)[0] + "/" + self.db_name
        self.secret = secrets.token_hex(32)
        self.env = {"PATH": os.environ.get("PATH", ""), "DATA_DIR": data_dir,
                    "DATABASE_URL": self.url, "JWT_SECRET": self.secret}

    def seed(self, start, end, expired_sessions=False):
        started = time.monotonic()
        if self.name == "sqlite":
            sqlite_seed(self.path, start, end, expired_sessions)
        else:
            postgres_seed(self.url, start, end, expired_sessions)
        return time.monotonic() - started

    def migrate_with_user(self):
        """Migrates the fresh database and registers the benchmark's own account through the
        server, so it comes before every seeded one."""
        self.manage("migrate")
        server = self.serve()
        try:
            call(server.base, "/api/register", {"email": f"{USER}@example.com",
                                                "username": USER, "password": PASSWORD})
        finally:
            server.stop()

    def manage(self, *command, extra_env=None):
        return subprocess.run([str(BINARY), *command], env={**self.env, **(extra_env or {})},
                              check=True, capture_output=True, text=True)

    def serve(self):
        # Tokens live an hour (the forged ones too); no SMTP: mail goes to .eml files.
        return Server(self.name, self.url, self.data_dir,
                      {"JWT_SECRET": self.secret, "ACCESS_TOKEN_TTL": "3600"})

    def drop(self):
        if self.db_name:
            psql(self.admin_url, f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)',
                 check=False)


def psql(url, sql, check=True):
    subprocess.run(["psql", url, "-qc", sql], check=check, capture_output=True)


def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def during_sweep(backend, server, scenario, args, env):
    """wrk on `scenario`, round after round, for as long as `latchkey sweep` runs (at least one
    round): the sweep's time and output, and the rounds' requests, p99 and worst p99."""
    script, path = scenario
    outcome = {}

    def sweep():
        started = time.monotonic()
        done = backend.manage("sweep")
        outcome["seconds"] = time.monotonic() - started
        outcome["swept"] = done.stdout.strip().splitlines()

    thread = threading.Thread(target=sweep)
    thread.start()
    rounds = [wrk(server, script, path, args.connections, 2, args.seconds, env)]
    while thread.is_alive():
        rounds.append(wrk(server, script, path, args.connections, 2, args.seconds, env))
    thread.join()
    requests = sum(r["requests"] for r in rounds)
    seconds = sum(r["seconds"] for r in rounds)
    outcome["request"] = {"rounds": len(rounds), "rps": requests / seconds,
                          "p99_ms": max(r["p99_ms"] for r in rounds),
                          "non_2xx": sum(r["non_2xx"] for r in rounds)}
    return outcome


def log_ins(server, count):
    def one(i):
        return call(server.base, "/api/token", {"username": USER, "password": PASSWORD},
                    forwarded=f"10.8.{i // 250}.{i % 250}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, range(count)))


def measure(backend, size, args, work):
    server = backend.serve()
    try:
        idle = rss_mb(server.process.pid)
        pairs = log_ins(server, 128)
        access = pairs[0]["access"]
        tokens_file = Path(work) / "refresh_tokens"
        tokens_file.write_text("\n".join(p["refresh"] for p in pairs) + "\n")
        kid = kid_of(access)
        many = min(MANY_SESSIONS, size)
        step = max(1, size // many)
        many_file = Path(work) / "access_tokens"
        # Sessions n % 10 == 0 ended long ago (swept when the server started).
        tokens = [signed_access(backend.secret, kid, n)
                  for n in range(1, step * many, step) if n % 10]
        many_file.write_text("\n".join(tokens) + "\n")
        seeded = signed_access(backend.secret, kid, size // 2 + 1)
        admin = call(server.base, "/api/token", {"username": "admin", "password": PASSWORD},
                     forwarded="10.7.0.1")["access"]
        base_env = {"BENCH_ACCESS": access, "BENCH_TOKENS": str(tokens_file),
                    "BENCH_USER": USER, "BENCH_PASSWORD": PASSWORD,
                    "BENCH_ACCESS_FILE": str(many_file), "BENCH_USERS": str(size),
                    "BENCH_FIRST": "0"}
        found = call(server.base, "/api/admin/users?search=user0000123", token=admin)
        assert found["count"] >= 1, found
        last_page = base64.urlsafe_b64encode(b"p").decode().rstrip("=")
        scenarios = [
            ("static", "static.lua", "/favicon.svg", {}),
            ("me", "me.lua", "/api/me", {}),
            # Long enough to reach every session at 5,000 req/s: a database read each the
            # first time, the cache afterwards.
            ("me, many sessions, first pass", "me_many.lua", "/api/me",
             {"seconds": max(args.seconds, len(tokens) // 5000)}),
            ("me, many sessions, cached", "me_many.lua", "/api/me", {}),
            ("verify", "verify.lua", "/api/token/verify", {}),
            ("refresh", "refresh.lua", "/api/token/refresh", {}),
            ("log-in", "login.lua", "/api/token", {"connections": 4}),
            ("reset request", "reset.lua", "/api/auth/password/reset", {}),
            ("admin last page", "me.lua", f"/api/admin/users?cursor={last_page}",
             {"BENCH_ACCESS": admin}),
            ("admin search username", "me.lua", "/api/admin/users?search=user00054",
             {"BENCH_ACCESS": admin}),
            ("admin search email", "me.lua",
             f"/api/admin/users?search=user{size // 3:07d}%40exa", {"BENCH_ACCESS": admin}),
            ("sessions page", "profile.lua", "/sessions", {"BENCH_ACCESS": seeded}),
        ]
        results = {"rss_idle_mb": round(idle, 1)}
        for name, script, path, extra in scenarios:
            extra = dict(extra)
            connections = extra.pop("connections", args.connections)
            seconds = extra.pop("seconds", args.seconds)
            result = wrk(server, script, path, connections, 2, seconds, {**base_env, **extra})
            if result["non_2xx"] or result["socket_errors"]:
                print(f"    warning: {name}: {result['non_2xx']} non-2xx, "
                      f"{result['socket_errors']} socket errors")
            results[name] = result
            print(f"  {backend.name:8} {size:>9,} {name:24} {result['rps']:9.0f} req/s  "
                  f"p99 {result['p99_ms']:8.2f} ms", flush=True)
            if name == "me, many sessions, first pass":
                results["rss_cached_mb"] = round(rss_mb(server.process.pid), 1)
                results["cached_sessions"] = len(tokens)
        sweep = during_sweep(backend, server, ("me.lua", "/api/me"), args, base_env)
        results["sweep"] = {"seconds": round(sweep["seconds"], 2), "swept": sweep["swept"],
                            "me_during": sweep["request"]}
        print(f"  {backend.name:8} {size:>9,} sweep {sweep['seconds']:.2f} s "
              f"({', '.join(sweep['swept'])}); me during it: "
              f"p99 {sweep['request']['p99_ms']:.2f} ms", flush=True)
        results["peak_rss_mb"] = round(peak_rss_mb(server.process.pid), 1)
        return results
    finally:
        server.stop()


def big_sweep(backend, size, args, work, rows):
    """A million expired rows swept by `latchkey sweep` while requests run: `GET /api/me`
    (reads), then password-reset requests (writes: throttle counters, a link, a mail each).
    The rows are added while the server runs, so its own sweep at start does not take them."""
    server = backend.serve()
    try:
        access = log_ins(server, 1)[0]["access"]
        env = {"BENCH_ACCESS": access, "BENCH_USERS": str(size)}
        scenarios = (("me", ("me.lua", "/api/me")),
                     ("reset request", ("reset.lua", "/api/auth/password/reset")))
        before = {name: wrk(server, script, path, args.connections, 2, args.seconds, env)
                  for name, (script, path) in scenarios}
        during = {}
        for n, (name, scenario) in enumerate(scenarios):
            half = rows // 2  # sessions, each with its refresh token: `rows` rows a sweep
            backend.seed(n * half, (n + 1) * half, expired_sessions=True)
            during[name] = during_sweep(backend, server, scenario, args, env)
        result = {"rows_per_sweep": rows, "before": before,
                  "during": {n: {"seconds": round(d["seconds"], 2), "swept": d["swept"],
                                 "request": d["request"]} for n, d in during.items()}}
        for name, _ in scenarios:
            d = during[name]
            print(f"  {backend.name:8} {size:>9,} sweep of {rows:,} expired rows in "
                  f"{d['seconds']:.1f} s: {name} p99 {before[name]['p99_ms']:.2f} -> "
                  f"{d['request']['p99_ms']:.2f} ms (worst of {d['request']['rounds']} rounds), "
                  f"{before[name]['rps']:.0f} -> {d['request']['rps']:.0f} req/s", flush=True)
        return result
    finally:
        server.stop()


def run_backend(name, args):
    with tempfile.TemporaryDirectory() as data_dir:
        backend = Backend(name, args, data_dir)
        try:
            backend.migrate_with_user()
            backend.manage("createsuperuser", "--no-input", "--username", "admin", "--email",
                           "admin@example.com", extra_env={"LATCHKEY_SUPERUSER_PASSWORD": PASSWORD})
            results = {"sizes": {}}
            seeded = 0
            if args.sweep_only:
                backend.seed(0, args.sizes[-1])
                seeded = args.sizes[-1]
            for size in [] if args.sweep_only else args.sizes:
                seconds = backend.seed(seeded, size)
                print(f"== {name}: {size:,} accounts ({size - seeded:,} seeded in "
                      f"{seconds:.1f} s)", flush=True)
                seeded = size
                results["sizes"][str(size)] = {"seeded_in_s": round(seconds, 1),
                                               **measure(backend, size, args, data_dir)}
            if args.sweep_rows:
                results["big_sweep"] = big_sweep(backend, seeded, args, data_dir, args.sweep_rows)
            return results
        finally:
            backend.drop()


def table(results, sizes):
    names = ["static", "me", "me, many sessions, first pass", "me, many sessions, cached",
             "verify", "refresh", "log-in",
             "reset request", "admin last page", "admin search username", "admin search email",
             "sessions page"]
    for backend, r in results.items():
        print(f"\n{backend}: req/s and p99 ms at each size; the last column is p99 at the "
              f"largest size over p99 at the smallest")
        head = " | ".join(f"{int(s):,}" for s in sizes)
        print(f"| request | {head} | p99 growth |")
        print("| --- |" + " ---: |" * (len(sizes) + 1))
        for name in names:
            cells = []
            for s in sizes:
                x = r["sizes"][str(s)][name]
                cells.append(f"{x['rps']:,.0f} / {x['p99_ms']:.2f}")
            first = r["sizes"][str(sizes[0])][name]["p99_ms"]
            last = r["sizes"][str(sizes[-1])][name]["p99_ms"]
            print(f"| {name} | " + " | ".join(cells) + f" | {last / first:.2f} |")
        cells = [f"{r['sizes'][str(s)]['sweep']['seconds']:.2f} s, me p99 "
                 f"{r['sizes'][str(s)]['sweep']['me_during']['p99_ms']:.2f}" for s in sizes]
        print("| sweep (me during it) | " + " | ".join(cells) + " | |")
        cells = [f"{r['sizes'][str(s)]['rss_idle_mb']:.0f} / {r['sizes'][str(s)]['rss_cached_mb']:.0f}"
                 f" ({r['sizes'][str(s)]['cached_sessions']:,})" for s in sizes]
        print("| RSS MB idle / with every session cached (sessions) | " + " | ".join(cells) + " | |")


def parse_with_backends(parser, output):
    """Adds what every database benchmark takes (--backend, --postgres, --output), parses, and
    checks that the release binary is built: (args, the backends to run)."""
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--postgres", default=os.environ.get(
        "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--output", default=str(ROOT / "bench" / output))
    args = parser.parse_args()
    if not BINARY.exists():
        raise SystemExit(f"{BINARY} is missing: run bench/run.sh, which builds it")
    return args, ["sqlite", "postgres"] if args.backend == "both" else [args.backend]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        type=lambda v: [int(x) for x in v.split(",")])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", 5)))
    parser.add_argument("--sweep-rows", type=int, default=1_000_000,
                        help="expired rows swept while requests run, after the largest size "
                             "(0: skip)")
    parser.add_argument("--sweep-only", action="store_true",
                        help="seed the largest size and measure only the big sweep")
    args, backends = parse_with_backends(parser, "growth.json")
    results = {name: run_backend(name, args) for name in backends}
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    if not args.sweep_only:
        table(results, args.sizes)
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
