#!/usr/bin/env python3
"""API fuzzing: schemathesis against the OpenAPI document the server generates.

For each backend: a fresh database, an admin with an API token (`tanggap user add`, `tanggap
token create`), a debug `tanggap serve` with the e-mail and CTI endpoints on, then

    schemathesis run http://127.0.0.1:PORT/api/v1/openapi.json -H "Authorization: Bearer TOKEN"
        --checks not_a_server_error,status_code_conformance,content_type_conformance,
                 response_schema_conformance,response_headers_conformance
        --max-examples N

over every operation but the endless `GET /api/v1/calls/stream`: valid and invalid data
(paths, query strings, headers, bodies), boundary values, then random data, then chains of calls.
A 5xx, a status code or content type the document does not list, or a body that does not match its
schema is a failure; so is a panic in the server's log. Exit status 1 on any failure.

schemathesis (pinned below) is installed from PyPI into target/schemathesis-venv on first use.

Usage: bench/schemathesis.py [--backend sqlite,postgres] [--max-examples 25] [--seed N]
Needs a built `target/debug/tanggap` (or --bin) and PostgreSQL at --pg (default
postgres://postgres@127.0.0.1:5432; the database tanggap_schemathesis is created and dropped).
"""

import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SCHEMATHESIS = "schemathesis==4.32.5"
VENV = os.path.join(h.ROOT, "target", "schemathesis-venv")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)


def schemathesis_binary():
    exe = os.path.join(VENV, "bin", "schemathesis")
    if not os.path.exists(exe):
        h.log(f"installing {SCHEMATHESIS} into {VENV}")
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([os.path.join(VENV, "bin", "pip"), "install", "-q", SCHEMATHESIS], check=True)
    return exe


def run(backend, args, exe):
    work = h.workdir(f"tanggap-schemathesis-{backend}-")
    db = h.Database(backend, work, args.pg, "tanggap_schemathesis")
    env = h.base_env(db.url, work)
    token = h.prepare(args.bin, env)
    log = os.path.join(work, "serve.log")
    server = h.Server(args.bin, env, args.port, log)
    server.start()
    base = f"http://127.0.0.1:{args.port}"
    cmd = [
        exe, "run", f"{base}/api/v1/openapi.json",
        "--url", base,
        "-H", f"Authorization: Bearer {token}",
        "--checks", CHECKS,
        "--max-examples", str(args.max_examples),
        "--exclude-path", "/api/v1/calls/stream",
        "--request-timeout", "10",
        "--generation-database", "none",
        "--no-color",
    ]
    if args.seed is not None:
        cmd += ["--seed", str(args.seed)]
    st_env = dict(
        os.environ,
        SCHEMATHESIS_HOOKS="schemathesis_hooks",
        PYTHONPATH=os.path.join(os.path.dirname(os.path.abspath(__file__)), "hooks"),
    )
    h.log(f"{backend}: schemathesis on {base} (max {args.max_examples} examples per operation)")
    started = time.time()
    proc = subprocess.run(cmd, env=st_env, cwd=work, capture_output=True, text=True)
    elapsed = time.time() - started
    server.stop()
    out = proc.stdout + proc.stderr
    problems = []
    if proc.returncode != 0:
        print(out)
        problems.append(f"schemathesis exited with {proc.returncode}")
    with open(log, errors="replace") as f:
        panics = [line.strip() for line in f if "panicked" in line]
    problems += [f"server log: {p}" for p in panics[:10]]
    tested = re.search(r"Tested:\s+(\d+)", out)
    cases = re.search(r"(\d+) generated, (\d+) passed(?:, (\d+) failed)?", out)
    seed = re.search(r"Seed: (\d+)", out)
    h.log(
        f"{backend}: {tested.group(1) if tested else '?'} operations, "
        f"{cases.group(0) if cases else 'no summary'} in {elapsed:.0f}s"
        f" (seed {seed.group(1) if seed else '?'})"
    )
    h.keep_or_remove(db, work, problems)
    return problems


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", default="sqlite,postgres")
    p.add_argument("--max-examples", type=int, default=25, help="test cases per operation and phase")
    p.add_argument("--seed", type=int, help="repeat a run (schemathesis prints its seed)")
    h.common_args(p, 18270, "server port")
    args = p.parse_args()
    exe = schemathesis_binary()
    problems = []
    for backend in args.backend.split(","):
        problems += [f"{backend}: {x}" for x in run(backend, args, exe)]
    h.fail_if(problems, "schemathesis")
    print("\nschemathesis passed: no 5xx, every answer as documented")


if __name__ == "__main__":
    main()
