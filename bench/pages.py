#!/usr/bin/env python3
"""Instructions per request, counted by valgrind's callgrind in the release server: the static
file, the JSON API's `/api/me` and token check, and each server-rendered page (log-in and
sign-up for a guest, the profile and the admin account list signed in). Unlike req/s, the
count does not depend on what else the machine does, so two builds compare exactly: run it
once per build with its own --label (and --binary for a build kept elsewhere), and
bench/pages.json holds every label's figures side by side.

`python3 bench/pages.py --help` for options; needs valgrind and the release build
(bench/run.sh builds it)."""

import argparse
import http.client
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from drive import BINARY, PASSWORD, ROOT, USER, Server, call, superuser_token

# (name, method, path, headers by token kind, body)
PATHS = [
    ("static", "GET", "/favicon.svg", None, None),
    ("api_me", "GET", "/api/me", "bearer", None),
    ("api_verify", "POST", "/api/token/verify", None, "verify"),
    ("login_page", "GET", "/login", None, None),
    ("signup_page", "GET", "/signup", None, None),
    ("profile", "GET", "/profile", "cookie", None),
    ("admin_page", "GET", "/admin", "admin", None),
]


def headers_for(kind, tokens):
    headers = {"Accept": "text/html"}
    if kind == "bearer":
        headers = {"Authorization": f"Bearer {tokens['user']}"}
    elif kind == "cookie":
        headers["Cookie"] = f"latchkey_access={tokens['user']}"
    elif kind == "admin":
        headers["Cookie"] = f"latchkey_access={tokens['admin']}"
    return headers


def callgrind_total(pid, out_dir, label):
    """Dumps the counts since the last zeroing and returns the instructions in them."""
    before = set(Path(out_dir).iterdir())
    subprocess.run(["callgrind_control", f"--dump={label}", str(pid)], check=True,
                   capture_output=True)
    dumps = sorted(set(Path(out_dir).iterdir()) - before)
    if not dumps:
        sys.exit("callgrind wrote no dump")
    for line in dumps[-1].read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1]), dumps[-1]
    sys.exit(f"no totals in {dumps[-1]}")


def measure(args):
    with tempfile.TemporaryDirectory() as data_dir:
        out_dir = Path(data_dir) / "callgrind"
        out_dir.mkdir()
        database_url = f"sqlite://{data_dir}/pages.db"
        wrapper = ["valgrind", "--tool=callgrind", "--collect-atstart=yes",
                   f"--callgrind-out-file={out_dir}/callgrind.out.%p"]
        server = Server("sqlite", database_url, data_dir, {"ACCESS_TOKEN_TTL": "3600"},
                        binary=args.binary, wrapper=wrapper, ready_within=600)
        try:
            call(server.base, "/api/register",
                 {"email": f"{USER}@example.com", "username": USER, "password": PASSWORD})
            pair = call(server.base, "/api/token", {"username": USER, "password": PASSWORD})
            tokens = {"user": pair["access"],
                      "admin": superuser_token(server, data_dir, database_url)}
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
            results = {}
            for name, method, path, kind, body in PATHS:
                if args.only and name not in args.only.split(","):
                    continue
                headers = headers_for(kind, tokens)
                payload = None
                if body == "verify":
                    headers["Content-Type"] = "application/json"
                    payload = json.dumps({"token": tokens["user"]})

                def request():
                    connection.request(method, path, body=payload, headers=headers)
                    response = connection.getresponse()
                    html = response.read()
                    if response.status != 200:
                        sys.exit(f"{method} {path}: {response.status}")
                    return html

                # Warm: the first answers fill caches (and a kept page) that later ones use.
                for _ in range(3):
                    request()
                subprocess.run(["callgrind_control", "--zero", str(server.process.pid)],
                               check=True, capture_output=True)
                for _ in range(args.requests):
                    html = request()
                total, dump = callgrind_total(server.process.pid, out_dir, name)
                per_request = total // args.requests
                results[name] = {"instructions": per_request, "bytes": len(html)}
                print(f"  {name:12} {per_request:>12,} instructions/request  "
                      f"({len(html):,} B)", flush=True)
                if args.keep:
                    Path(args.keep).mkdir(parents=True, exist_ok=True)
                    (Path(args.keep) / f"{args.label}.{name}.callgrind").write_bytes(
                        dump.read_bytes())
            connection.close()
            return results
        finally:
            server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--label", required=True, help="the build's name in the output")
    parser.add_argument("--binary", default=str(BINARY))
    parser.add_argument("--requests", type=int, default=20, help="counted per path")
    parser.add_argument("--only", help="comma-separated names of paths to count")
    parser.add_argument("--keep", help="a folder to copy each path's callgrind dump to "
                                       "(for callgrind_annotate)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "pages.json"))
    args = parser.parse_args()
    if not Path(args.binary).exists():
        sys.exit(f"{args.binary} is missing: run bench/run.sh, which builds it")
    print(f"== {args.label} ({args.binary})", flush=True)
    results = measure(args)
    output = Path(args.output)
    everything = json.loads(output.read_text()) if output.exists() else {}
    everything.setdefault(args.label, {}).update(results)
    output.write_text(json.dumps(everything, indent=2) + "\n")
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
