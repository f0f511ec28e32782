#!/usr/bin/env python3
"""Several nodes: three `tanggap serve` processes (workers in each) on one PostgreSQL database,
with load spread over all three, round-robin per request:

* ticket creation (Idempotency-Key), signed Instagram webhooks (platform timestamps of now, so the
  reply window is open), and agent replies on the Instagram tickets — each reply is a
  `deliver_message` job that calls the Graph API, here a loopback receiver;
* every ticket and message announces itself by an outgoing webhook (`ticket.created`,
  `message.created`) to the same receiver.

When the load stops and every queue is empty, it checks that each job ran exactly once across the
nodes: the receiver saw every webhook delivery id once, every ticket and message announced once,
every acknowledged reply sent to the Graph API once and marked `sent`; each webhook body became
exactly one message; nothing is dead or left in `jobs`; one ticket per Idempotency-Key; and the
workers of every node were seen holding job leases (sampled every 0.1 s), so all of them took part.

Usage: bench/nodes.py [--seconds 30] [--nodes 3] [--threads 2]
Needs a built `target/debug/tanggap` (or --bin) and PostgreSQL at --pg (default
postgres://postgres@127.0.0.1:5432; the database tanggap_nodes is created and dropped).
"""

import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--threads", type=int, default=2, help="load threads per kind of request")
    h.common_args(p, 18290, "first node's port; the receiver uses the one below")
    args = p.parse_args()

    work, receiver, db, env, token = h.setup_with_receiver("nodes", "postgres", args)
    run_id = h.new_run_id()
    ports = [args.port + n for n in range(args.nodes)]
    servers = [h.Server(args.bin, env, port, os.path.join(work, f"node-{port}.log")) for port in ports]
    for s in servers:
        s.start()

    tickets = h.Tickets(run_id)
    instagram = h.Instagram(run_id, base_ms=int(time.time() * 1000))
    replies = h.Replies(run_id, h.instagram_tickets(db, 1.0))
    load = h.Load([tickets, instagram], lambda: ports, token, threads=args.threads)
    h.log(f"{args.nodes} nodes on {db.url}, ports {ports}; load for {args.seconds:.0f} s, run {run_id}")
    load.start()
    # Which node holds the leases of running jobs (worker ids are host:pid:suffix), sampled.
    leases = {}
    sampling = threading.Event()

    def sample():
        while not sampling.is_set():
            for (owner,) in db.query("SELECT lease_owner FROM jobs WHERE lease_owner IS NOT NULL"):
                pid = int(owner.split(":")[1])
                leases[pid] = leases.get(pid, 0) + 1
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    time.sleep(min(3.0, args.seconds / 4))
    reply_load = h.Load([replies], lambda: ports, token, threads=args.threads)
    reply_load.start()
    time.sleep(max(0.0, args.seconds - min(3.0, args.seconds / 4)))
    load.stop()
    reply_load.stop()
    unknown = load.settle(ports[0]) + reply_load.settle(ports[0])
    kinds = ("meta_event", "deliver_message", "webhook")
    drained = h.wait_for_jobs(db, kinds)
    sampling.set()
    sampler.join()
    for s in servers:
        s.stop()

    problems = load.crashed + reply_load.crashed
    if unknown:
        problems.append(f"load: {unknown} requests never got an answer")
    if not drained:
        problems.append("jobs: still queued after 180 s")
    left = db.query("SELECT kind, COUNT(*) FROM jobs WHERE kind IN ('meta_event', 'deliver_message', 'webhook') GROUP BY kind")
    problems += [f"jobs: {n} {kind} jobs left (pending or dead)" for kind, n in left]

    per_node = {p: load.per_port.get(p, 0) + reply_load.per_port.get(p, 0) for p in ports}
    print(f"\n== {args.nodes} nodes on one PostgreSQL, {args.seconds:.0f} s of load")
    print("acknowledged per node: " + ", ".join(f":{p} {n}" for p, n in per_node.items()))
    by_node = {s.port: leases.get(s.proc.pid, 0) for s in servers}
    print("leased jobs seen per node (samples): " + ", ".join(f":{p} {n}" for p, n in by_node.items()))
    problems += [f"workers: node :{p} was never seen running a job" for p, n in by_node.items() if n == 0]
    print(f"{'what':<10} {'acked':>7} {'4xx':>5} {'in store':>9}  checks")
    for c in (tickets, instagram):
        found, stored = c.check(db)
        problems += found + [f"{c.name}: unexpected {s} for request {i}: {b!r}" for i, s, b in c.errors_4xx]
        print(f"{c.name:<10} {len(c.acked):>7} {len(c.errors_4xx):>5} {stored:>9}  {'ok' if not found else 'FAILED'}")
    found, sent = replies.check(db, receiver)
    problems += found + [f"replies: unexpected {s} for request {i}: {b!r}" for i, s, b in replies.errors_4xx]
    print(f"{'replies':<10} {len(replies.acked):>7} {len(replies.errors_4xx):>5} {sent:>9}  {'ok' if not found else 'FAILED'}")
    found, n = receiver.check(db)
    problems += found
    print(f"webhook deliveries received: {n}, each once: {'ok' if not found else 'FAILED'}")
    common = h.common_checks(db)
    problems += common
    print(f"store-wide checks: {'ok' if not common else 'FAILED'}")
    h.finish(db, work, problems, "several nodes", "\nseveral nodes passed: every job ran exactly once across the nodes")


if __name__ == "__main__":
    main()
