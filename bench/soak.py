#!/usr/bin/env python3
"""Soak: mixed load on one `tanggap serve` for a long time (default 10 minutes), sampling the
server's memory.

The load, paced by --pause per request and thread: ticket creation (Idempotency-Key), signed
Instagram webhooks, raw e-mail, CTI call events, agent replies on Instagram tickets (delivered to a
loopback Graph API), the agent inbox and public status lookups; outgoing webhooks go to the same
loopback receiver. Every --sample seconds the server's RSS is recorded.

Passes when
* no request failed: no 4xx, no 5xx, no network error (errors must be 0);
* memory is flat: the highest RSS of the last quarter of the run is at most --growth (default 1.25)
  times the highest RSS of the second quarter plus 8 MiB (the first quarter is warm-up: caches,
  pools, the SQLite page cache fill);
* the workers keep up: no due job waits longer than --max-wait (60 s) to be claimed;
* afterwards the same checks as the crash and node tests hold (everything acknowledged stored once,
  each job run once, SQLite integrity).

Usage: bench/soak.py [--minutes 10] [--backend sqlite|postgres] [--threads 1] [--pause 0.01]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    p.add_argument("--threads", type=int, default=1, help="load threads per kind of request")
    p.add_argument("--pause", type=float, default=0.01, help="seconds each thread waits after a request")
    p.add_argument("--sample", type=float, default=10, help="seconds between RSS samples")
    p.add_argument("--growth", type=float, default=1.25)
    p.add_argument("--max-wait", type=float, default=60, help="seconds a due job may wait for a worker")
    h.common_args(p, 18390, "server port; the receiver uses the one below")
    args = p.parse_args()

    work, receiver, db, env, token = h.setup_with_receiver("soak", args.backend, args)
    run_id = h.new_run_id()
    server = h.Server(args.bin, env, args.port, os.path.join(work, "serve.log"))
    server.start()

    tickets = h.Tickets(run_id)
    instagram = h.Instagram(run_id, base_ms=int(time.time() * 1000))
    email, cti = h.Email(run_id), h.Cti(run_id)
    reads = h.Reads(run_id, tickets)
    instagram_tickets = h.instagram_tickets(db, 5.0)
    replies = h.Replies(run_id, instagram_tickets)
    channels = [tickets, instagram, email, cti, reads]
    load = h.Load(channels, lambda: [args.port], token, threads=args.threads, pause=args.pause)
    h.log(f"soak on {args.backend} for {args.minutes:g} min, run {run_id}; RSS every {args.sample:g} s")
    load.start()
    start = time.time()
    end = start + args.minutes * 60
    samples = []  # (seconds, rss KiB, acknowledged so far)
    waits = []  # seconds the oldest due job had waited, per sample
    reply_load = None
    while time.time() < end:
        time.sleep(min(args.sample, max(0.0, end - time.time())))
        if reply_load is None and instagram_tickets():
            reply_load = h.Load([replies], lambda: [args.port], token, threads=args.threads, pause=args.pause)
            reply_load.start()
        done = sum(len(c.acked) for c in channels + [replies])
        queued, waited = h.queue_state(db)
        samples.append((time.time() - start, server.rss_kib(), done))
        waits.append(waited)
        h.log(
            f"{samples[-1][0]:6.0f} s  RSS {samples[-1][1] / 1024:6.1f} MiB  {done} requests answered 2xx  "
            f"{queued} jobs queued, oldest due waiting {waited:.0f} s"
        )
    load.stop()
    if reply_load:
        reply_load.stop()
    drained = h.wait_for_jobs(db, ("meta_event", "deliver_message", "webhook"))
    server.stop()

    all_channels = channels + [replies]
    failed = sum(c.failed + len(c.errors_4xx) for c in all_channels)
    problems = load.crashed + (reply_load.crashed if reply_load else [])
    if failed:
        problems.append(f"errors: {failed} requests failed")
    for c in all_channels:
        problems += [f"{c.name}: {s} for request {i}: {b!r}" for i, s, b in c.errors_4xx[:5]]
    if not drained:
        problems.append("jobs: still queued 180 s after the load stopped")
    if waits and max(waits) > args.max_wait:
        problems.append(f"jobs: a due job waited {max(waits):.0f} s for a worker (limit {args.max_wait:g} s)")

    n = len(samples)
    q2 = [r for t, r, _ in samples[n // 4 : n // 2] if r]
    q4 = [r for t, r, _ in samples[3 * n // 4 :] if r]
    total = samples[-1][2] if samples else 0
    elapsed = samples[-1][0] if samples else 0
    print(f"\n== soak, {args.backend}, {elapsed / 60:.1f} min: {total} requests answered 2xx ({total / max(elapsed, 1):.0f}/s)")
    print(f"{'kind':<10} {'2xx':>8} {'errors':>7}")
    for c in all_channels:
        print(f"{c.name:<10} {len(c.acked):>8} {c.failed + len(c.errors_4xx):>7}")
    print("RSS MiB over time: " + "  ".join(f"{t:.0f}s:{r / 1024:.1f}" for t, r, _ in samples if r))
    if q2 and q4:
        limit = max(q2) * args.growth + 8192
        flat = max(q4) <= limit
        print(
            f"memory: max {max(q2) / 1024:.1f} MiB in the 2nd quarter, {max(q4) / 1024:.1f} MiB in the last "
            f"(limit {limit / 1024:.1f}): {'flat' if flat else 'GROWING'}"
        )
        if not flat:
            problems.append(f"memory: RSS grew from {max(q2)} KiB to {max(q4)} KiB")
    else:
        problems.append("memory: too few RSS samples; run longer or sample more often")
    for c in (tickets, instagram, email, cti):
        problems += c.check(db)[0]
    problems += replies.check(db, receiver)[0] + receiver.check(db)[0] + h.judge_repeats(receiver)[0] + h.common_checks(db)
    h.finish(db, work, problems, "soak", "soak passed: no errors, memory flat, everything acknowledged stored once")


if __name__ == "__main__":
    main()
