#!/usr/bin/env python3
"""Drives latchkey's release binary with wrk on loopback and reports each figure as a ratio to
a static file served by the same process in the same run. Started by bench/run.sh, which builds
first; see bench/README.md for what each scenario measures and the targets."""

import argparse
import concurrent.futures
import gzip
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "target" / "release" / "latchkey"
BARE = ROOT / "target" / "release" / "examples" / "bare"
SITE = ROOT / "target" / "site"
LUA = ROOT / "bench" / "lua"
PASSWORD = "correct horse battery staple"
USER = "bench"
SESSIONS = 256  # refresh chains; keeps each under the per-session refresh limit (120/min)

# (name, script, path, connections override); connections None means --connections.
SCENARIOS = [
    ("static", "static.lua", "/favicon.svg", None),
    ("verify", "verify.lua", "/api/token/verify", None),
    ("me", "me.lua", "/api/me", None),
    ("profile", "profile.lua", "/profile", None),
    ("login_page", "page.lua", "/login", None),
    ("signup_page", "page.lua", "/signup", None),
    ("admin_page", "admin_page.lua", "/admin", None),
    ("refresh", "refresh.lua", "/api/token/refresh", None),
    ("login_single", "login.lua", "/api/token", 1),
    ("login", "login.lua", "/api/token", "cores"),
    ("login_flood", "login.lua", "/api/token", None),
]

TARGETS = {"verify": 0.7, "me": 0.4, "profile": 0.3, "login_page": 0.4, "signup_page": 0.4,
           "admin_page": 0.2}
# Server-rendered pages, whose p99 at --connections stays under 3x the static file's.
PAGES = ("profile", "login_page", "signup_page", "admin_page")
# Against the bare axum server's `/me` (bench/bare.rs): the same HS256 check and nothing else.
BARE_TARGETS = {"verify": 0.6, "me": 0.6}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, path, body=None, token=None, forwarded=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def peak_rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss(pid):
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


class Server:
    """The release binary (or `binary`) on a free port, run under `wrapper` (a command prefix,
    such as valgrind's) if given."""

    def __init__(self, backend, database_url, data_dir, extra_env=None, binary=BINARY,
                 wrapper=(), ready_within=60):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            "PATH": os.environ.get("PATH", ""),
            "LEPTOS_SITE_ADDR": f"127.0.0.1:{self.port}",
            "LEPTOS_SITE_ROOT": str(SITE),
            "DATA_DIR": data_dir,
            "DATABASE_URL": database_url,
            "JWT_SECRET": secrets.token_hex(32),
            "TRUSTED_PROXIES": "127.0.0.1",
            # One log line per request would be measured too; operators at this load ship
            # warnings only.
            "RUST_LOG": "warn",
            **(extra_env or {}),
        }
        self.backend = backend
        self.secret = env["JWT_SECRET"]
        self.process = subprocess.Popen([*wrapper, str(binary)], env=env, cwd=data_dir)
        deadline = time.monotonic() + ready_within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"the server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=5):
                    return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)  # polling a port that is not open yet: no event to wait on
        sys.exit(f"the server did not become ready within {ready_within} s")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


class Bare:
    """bench/bare.rs on a free port, checking tokens signed with `secret`."""

    def __init__(self, secret):
        self.process = subprocess.Popen([str(BARE)], stdout=subprocess.PIPE, text=True,
                                        env={"JWT_SECRET": secret, "BARE_ADDR": "127.0.0.1:0"})
        # The server prints its address once it listens: that line is the readiness event.
        self.base = "http://" + self.process.stdout.readline().strip()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def superuser_token(server, data_dir, database_url):
    """An access token of a superuser made with `latchkey createsuperuser`."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATA_DIR": data_dir,
        "DATABASE_URL": database_url,
        "JWT_SECRET": server.secret,
        "LATCHKEY_SUPERUSER_PASSWORD": PASSWORD,
    }
    subprocess.run([str(BINARY), "createsuperuser", "--no-input", "--username", "admin",
                    "--email", "admin@example.com"], env=env, check=True, capture_output=True)
    return call(server.base, "/api/token", {"username": "admin", "password": PASSWORD})["access"]


def seed(server):
    call(server.base, "/api/register",
         {"email": f"{USER}@example.com", "username": USER, "password": PASSWORD})

    def log_in(i):
        pair = call(server.base, "/api/token", {"username": USER, "password": PASSWORD},
                    forwarded=f"10.9.{i // 250}.{i % 250}")
        return pair["access"], pair["refresh"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        pairs = list(pool.map(log_in, range(SESSIONS)))
    return pairs[0][0], [refresh for _, refresh in pairs]


def process_counters(pid):
    """CPU seconds in user and kernel mode, and context switches, of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    switches = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            for line in (task / "status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    switches += int(line.split()[1])
        except OSError:
            pass  # a thread that ended meanwhile
    return int(fields[11]) / ticks, int(fields[12]) / ticks, switches


def wrk(server, script, path, connections, threads, duration, env):
    """One wrk run; besides wrk's figures, the server's CPU time per request (microseconds, and
    the kernel's share of it) and its threads' context switches per request."""
    before = process_counters(server.process.pid)
    command = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{duration}s",
               "--timeout", "10s", "-s", str(LUA / script), server.base + path]
    run_env = dict(os.environ, BENCH_LUA=str(LUA), BENCH_THREADS=str(min(threads, connections)),
                   **env)
    output = subprocess.run(command, env=run_env, capture_output=True, text=True, check=True)
    lines = [l for l in output.stdout.splitlines() if l.startswith("{")]
    if not lines:
        sys.exit(f"wrk printed no summary for {script}:\n{output.stdout}\n{output.stderr}")
    result = json.loads(lines[-1])
    user, kernel, switches = (b - a for a, b in zip(before, process_counters(server.process.pid)))
    requests = max(result["requests"], 1)
    result["cpu_us"] = round((user + kernel) * 1e6 / requests, 1)
    result["kernel_share"] = round(kernel / max(user + kernel, 1e-9), 2)
    result["switches"] = round(switches / requests, 2)
    return result


def bench_backend(backend, args):
    with tempfile.TemporaryDirectory() as data_dir:
        if backend == "sqlite":
            database_url = f"sqlite://{data_dir}/bench.db"
            drop = None
        else:
            name = f"latchkey_bench_{secrets.token_hex(4)}"
            subprocess.run(["psql", args.postgres, "-qc", f'CREATE DATABASE "{name}"'], check=True)
            database_url = args.postgres.rsplit("/", 1)[0] + "/" + name
            drop = name
        server = Server(backend, database_url, data_dir)
        try:
            access, refresh_tokens = seed(server)
            tokens_file = Path(data_dir) / "refresh_tokens"
            tokens_file.write_text("\n".join(refresh_tokens) + "\n")
            env = {"BENCH_ACCESS": access, "BENCH_TOKENS": str(tokens_file),
                   "BENCH_USER": USER, "BENCH_PASSWORD": PASSWORD,
                   "BENCH_ADMIN_ACCESS": superuser_token(server, data_dir, database_url)}
            results = {}
            bare = Bare(server.secret)
            try:
                results["bare"] = wrk(bare, "me.lua", "/me", args.connections, args.threads,
                                      args.duration, env)
            finally:
                bare.stop()
            results["bare"]["connections"] = args.connections
            b = results["bare"]
            print(f"  {backend:8} {'bare /me':13} {b['rps']:10.1f} req/s  "
                  f"p50 {b['p50_ms']:7.2f} ms  p99 {b['p99_ms']:7.2f} ms  "
                  f"cpu {b['cpu_us']} us/req ({b['kernel_share']:.0%} kernel)  "
                  f"{b['switches']} switches/req", flush=True)
            for name, script, path, connections in SCENARIOS:
                if connections == "cores":
                    connections = 2 * (os.cpu_count() or 1)
                connections = connections or args.connections
                reset_peak_rss(server.process.pid)
                result = wrk(server, script, path, connections, args.threads, args.duration, env)
                result["connections"] = connections
                result["peak_rss_mb"] = round(peak_rss_mb(server.process.pid), 1)
                results[name] = result
                print(f"  {backend:8} {name:13} {result['rps']:10.1f} req/s  "
                      f"p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms  "
                      f"non-2xx {result['non_2xx']}  rss {result['peak_rss_mb']} MB  "
                      f"cpu {result['cpu_us']} us/req ({result['kernel_share']:.0%} kernel)  "
                      f"{result['switches']} switches/req", flush=True)
            results["durability"] = durability(backend, args)
            return results
        finally:
            server.stop()
            if drop:
                subprocess.run(["psql", args.postgres, "-qc",
                                f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'], check=False)


def durability(backend, args):
    if backend == "sqlite":
        return ("WAL, synchronous=NORMAL: an acknowledged rotation survives a crash of the "
                "process; a power loss or OS crash can undo the last commits (the file stays "
                "consistent)")
    show = lambda setting: subprocess.run(
        ["psql", args.postgres, "-tAc", f"SHOW {setting}"],
        capture_output=True, text=True, check=True).stdout.strip()
    return (f"fsync={show('fsync')}, synchronous_commit={show('synchronous_commit')}: an "
            "acknowledged rotation survives a crash of the process and of the database server, "
            "and a power loss when both are on")


def wasm_sizes():
    sizes = {}
    for wasm in sorted((SITE / "pkg").glob("*.wasm")):
        raw = wasm.read_bytes()
        sizes[wasm.name] = {"raw": len(raw), "gzip": len(gzip.compress(raw, 9))}
    return sizes


def evaluate(results):
    """Each figure against its target, as (name, measured, target, met)."""
    rows = []
    for backend, r in results["backends"].items():
        ceiling = r["static"]["rps"]
        for name, target in TARGETS.items():
            ratio = r[name]["rps"] / ceiling
            rows.append((f"{backend} {name} / static", f"{ratio:.2f}", f">= {target}",
                         ratio >= target))
        bare = r["bare"]
        for name, target in BARE_TARGETS.items():
            ratio = r[name]["rps"] / bare["rps"]
            rows.append((f"{backend} {name} / bare", f"{ratio:.2f}", f">= {target}",
                         ratio >= target))
            p99 = r[name]["p99_ms"] / bare["p99_ms"]
            rows.append((f"{backend} {name} p99 / bare p99", f"{p99:.2f}", "< 2", p99 < 2))
        rows.append((f"{backend} refresh", f"{r['refresh']['rps']:.0f}/s", ">= 1000/s",
                     r["refresh"]["rps"] >= 1000 and r["refresh"]["non_2xx"] == 0))
        # One connection logging in back to back: its rate is one core's, hash included.
        ideal = (os.cpu_count() or 1) * r["login_single"]["rps"]
        ratio = r["login"]["rps"] / ideal
        rows.append((f"{backend} login / (cores / one log-in)", f"{ratio:.2f}", ">= 0.90",
                     ratio >= 0.9))
        for name in PAGES:
            p99 = r[name]["p99_ms"] / r["static"]["p99_ms"]
            rows.append((f"{backend} {name} p99 / static p99", f"{p99:.2f}", "< 3", p99 < 3))
        for name in ("verify", "me"):
            p99 = r[name]["p99_ms"]
            rows.append((f"{backend} {name} p99 at {r[name]['connections']} connections",
                         f"{p99:.2f} ms", "< 5 ms", p99 < 5))
        rss = r["login_flood"]["peak_rss_mb"]
        rows.append((f"{backend} peak RSS, log-in flood ({r['login_flood']['connections']} "
                     "connections)", f"{rss:.0f} MB", "< 150 MB", rss < 150))
    main = [s for n, s in results["wasm"].items() if n.startswith("latchkey")]
    if main:
        gz = min(s["gzip"] for s in main)
        rows.append(("release WASM, main bundle, gzip", f"{gz / 1000:.0f} KB", "< 350 KB",
                     gz < 350_000))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_SECONDS", 5)))
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres", default=os.environ.get(
        "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()
    for binary in (BINARY, BARE):
        if not binary.exists():
            sys.exit(f"{binary} is missing: run bench/run.sh, which builds it")

    results = {
        "machine": {"cores": os.cpu_count(), "system": platform.platform()},
        "settings": {"duration_s": args.duration, "connections": args.connections,
                     "threads": args.threads},
        "backends": {},
        "wasm": wasm_sizes(),
    }
    for backend in args.backends.split(","):
        print(f"== {backend}", flush=True)
        results["backends"][backend] = bench_backend(backend, args)

    rows = evaluate(results)
    results["targets"] = [{"figure": f, "measured": m, "target": t, "met": ok}
                          for f, m, t, ok in rows]
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")

    print()
    print(f"{'scenario':28} {'req/s':>10} {'/static':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for backend, r in results["backends"].items():
        ceiling = r["static"]["rps"]
        b = r["bare"]
        print(f"{backend + ' bare /me':28} {b['rps']:10.1f} {b['rps'] / ceiling:8.3f} "
              f"{b['p50_ms']:8.2f} {b['p99_ms']:8.2f}")
        for name, _, _, _ in SCENARIOS:
            s = r[name]
            print(f"{backend + ' ' + name:28} {s['rps']:10.1f} {s['rps'] / ceiling:8.3f} "
                  f"{s['p50_ms']:8.2f} {s['p99_ms']:8.2f}")
    for name, size in results["wasm"].items():
        print(f"WASM {name}: {size['raw']:,} B raw, {size['gzip']:,} B gzip")
    print()
    for figure, measured, target, ok in rows:
        print(f"{'met ' if ok else 'MISS'}  {figure:55} {measured:>10}  (target {target})")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
