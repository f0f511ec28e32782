#!/usr/bin/env python3
"""Crash test: write load on every channel while `tanggap serve` is SIGKILLed and restarted.

For each backend: a fresh database, one server (workers inside), and load threads sending ticket
creations (with an Idempotency-Key), signed Instagram webhooks, raw e-mail to the inbound endpoint
and CTI call events. Every `--interval` seconds (jittered) the server is killed with SIGKILL and
started again, `--rounds` times. Requests that failed in flight are sent again, byte for byte, as a
client or platform would. Then the workers finish the queued webhook bodies, the server stops, and
the store is checked:

* every acknowledged (2xx) ticket, webhook body (stored and turned into exactly one message), e-mail
  (exactly one message) and call event (exactly one row) is there;
* one ticket and one stored answer per Idempotency-Key; no (channel, external id) twice;
* no dead job; on SQLite `PRAGMA integrity_check` is ok and `foreign_key_check` is empty.

"resent" in the report counts requests sent again after a failure without an answer (their first
copy may or may not have been committed): that is where duplicates would come from.

Exit status 1 with a list of violations if any check fails. `--tamper` deletes one acknowledged
call event before the checks, to show they catch a loss (CI expects that run to fail).

Usage: bench/crash.py [--backend sqlite,postgres] [--rounds 10] [--interval 3] [--threads 2]
Needs a built `target/debug/tanggap` (or --bin) and PostgreSQL at --pg (default
postgres://postgres@127.0.0.1:5432; the database tanggap_crash is created and dropped).
"""

import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def run(backend, args):
    work = h.workdir(f"tanggap-crash-{backend}-")
    db = h.Database(backend, work, args.pg, "tanggap_crash")
    run_id = h.new_run_id()
    env = h.base_env(db.url, work, {"TANGGAP__JOBS__POLL_INTERVAL_MS": "200", "TANGGAP__JOBS__LEASE_SECS": str(args.lease)})
    token = h.prepare(args.bin, env)
    server = h.Server(args.bin, env, args.port, os.path.join(work, "serve.log"))
    server.start()
    channels = h.all_channels(run_id)
    load = h.Load(channels, lambda: [args.port], token, threads=args.threads)
    h.log(f"{backend}: load started ({len(channels)} channels x {args.threads} threads), run {run_id}")
    load.start()
    started = time.time()
    downtime = 0.0
    for r in range(1, args.rounds + 1):
        time.sleep(args.interval * random.uniform(0.5, 1.5))
        acked = sum(len(c.acked) for c in channels)
        server.kill()
        t0 = time.time()
        time.sleep(random.uniform(0.0, 0.5))
        server.start()
        downtime += time.time() - t0
        h.log(f"{backend}: round {r}/{args.rounds}: SIGKILL after {acked} acknowledged writes so far; restarted")
    time.sleep(args.interval)
    load.stop()
    unknown = load.settle(args.port)
    if unknown:
        h.log(f"{backend}: {unknown} requests still unanswered after retries")
    drained = h.wait_for_jobs(db)
    server.stop()
    elapsed = time.time() - started

    if args.tamper:
        # Prove the checks can fail: lose one acknowledged call event behind the server's back.
        call_id, event = channels[3].call_event(next(iter(channels[3].acked)))
        db.execute(f"DELETE FROM call_events WHERE call_id = '{call_id}' AND event = '{event}'")
        h.log(f"{backend}: --tamper deleted acknowledged call event {call_id}/{event}")
    problems = list(load.crashed)
    if not drained:
        problems.append("jobs: webhook bodies were still queued after 180 s")
    if unknown:
        problems.append(f"load: {unknown} requests never got an answer after the last restart")
    print(f"\n== crash test, {backend}: {args.rounds} SIGKILLs in {elapsed:.0f} s ({downtime:.1f} s down)")
    print(f"{'channel':<10} {'acked':>7} {'resent':>7} {'4xx':>5} {'in store':>9}  checks")
    for c in channels:
        found, stored = c.check(db)
        problems += found
        problems += [f"{c.name}: unexpected {s} for request {i}: {body!r}" for i, s, body in c.errors_4xx]
        print(f"{c.name:<10} {len(c.acked):>7} {c.resent:>7} {len(c.errors_4xx):>5} {stored:>9}  {'ok' if not found else 'FAILED'}")
    common = h.common_checks(db)
    problems += common
    integrity = " (PRAGMA integrity_check ok)" if backend == "sqlite" and not common else ""
    print(f"store-wide checks: {'ok' if not common else 'FAILED'}{integrity}")
    h.keep_or_remove(db, work, problems)
    return problems


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", default="sqlite,postgres")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--interval", type=float, default=3.0, help="mean seconds between kills")
    p.add_argument("--threads", type=int, default=2, help="load threads per channel")
    p.add_argument("--lease", type=int, default=5, help="jobs.lease_secs: how soon a killed worker's jobs are free")
    p.add_argument("--tamper", action="store_true", help="delete one acknowledged row before checking (must fail)")
    h.common_args(p, 18190, "server port")
    args = p.parse_args()
    problems = []
    for backend in args.backend.split(","):
        problems += [f"{backend}: {x}" for x in run(backend, args)]
    h.fail_if(problems, "crash test")
    print("\ncrash test passed: nothing acknowledged was lost, nothing duplicated")


if __name__ == "__main__":
    main()
