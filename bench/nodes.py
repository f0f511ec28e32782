#!/usr/bin/env python3
"""Several nodes: three `tanggap serve` processes (workers in each) on one PostgreSQL database,
with load spread over all three, round-robin per request:

* ticket creation (Idempotency-Key), signed Instagram webhooks (platform timestamps of now, so the
  reply window is open), and agent replies on the Instagram tickets — each reply is a
  `deliver_message` job that calls the Graph API, here a loopback receiver;
* every ticket and message announces itself by an outgoing webhook (`ticket.created`,
  `message.created`) to the same receiver;
* the tickets go to a team with automatic assignment on and a small cap per agent (four agents,
  three available at the start, the fourth made available by a supervisor's PATCH a few seconds
  in), while a thread resolves the team's assigned tickets through the API, so room keeps opening
  and every node's router keeps filling it.

When the load stops and every queue is empty, it checks that each job ran exactly once across the
nodes: the receiver saw every webhook delivery id once, every ticket and message announced once,
every acknowledged reply sent to the Graph API once and marked `sent`; each webhook body became
exactly one message; nothing is dead or left in `jobs`; one ticket per Idempotency-Key; and the
workers of every node were seen holding job leases (sampled every 0.1 s), so all of them took part.
Routing: no agent ever held more unresolved tickets than the cap (sampled every 0.1 s, and at the
end), no ticket waited while an available agent had room; then the cap is raised so the backlog is
routed too, and every ticket of the team was assigned exactly once — one `assignee_changed` event,
by the system, naming the ticket's current assignee, one of the team's agents.

SLA: a policy for that team with a first-response target of 4 s and a resolution target of 10 s
(calendar time, warnings at 50 % and 80 %), and a supervisor in the team, so clocks warn and
breach on every node's timer during the load; afterwards each firing (a row of `sla_firings`) came
as exactly one `sla.warning`/`sla.breached` webhook delivery and one ticket event, each in-app
notification exists once per user and firing, and every breach mail reached the SMTP sink.

With `--kill`, one node is SIGKILLed a third of the way into the load and started again two
seconds later (job leases are 10 s so its claimed jobs are taken over during the run): every
acknowledged write must still be stored once and every job done. Only an outside call that the
killed worker made but could not mark done may arrive twice — at most `jobs.concurrency` of them,
each with the same delivery id or message, and exactly twice.

Usage: bench/nodes.py [--seconds 30] [--nodes 3] [--threads 2] [--kill]
Needs a built `target/debug/tanggap` (or --bin) and PostgreSQL at --pg (default
postgres://postgres@127.0.0.1:5432; the database tanggap_nodes is created and dropped).
"""

import argparse
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


UNRESOLVED = "('new', 'open', 'pending', 'on_hold')"


class Routing:
    """A team with `auto_assign` on, AGENTS agents in it (all but the last available at the
    start), and a thread resolving its assigned tickets over the API, round-robin over the nodes."""

    AGENTS = 4
    CAP = 10

    def __init__(self, db, port, token, run_id):
        self.db, self.token = db, token
        self.team = self.call(port, "POST", "/api/v1/teams", {"name": f"Routing {run_id}"}, 201)["id"]
        self.call(port, "PATCH", f"/api/v1/teams/{self.team}", {"auto_assign": True, "max_open_per_agent": self.CAP})
        # The agents only receive tickets, they never log in: plain rows are enough.
        for k in range(self.AGENTS):
            db.execute(
                "INSERT INTO users (email, name, role, team_id, active, created_at) VALUES "
                f"('agent{k}-{run_id}@routing.example', 'Agen {k}', 'agent', {self.team}, TRUE, "
                "CURRENT_TIMESTAMP AT TIME ZONE 'UTC')"
            )
        self.agents = [r[0] for r in db.query(f"SELECT id FROM users WHERE team_id = {self.team} ORDER BY id")]
        for agent in self.agents[:-1]:
            self.make_available(port, agent)
        self.resolved = 0
        self.max_load = 0
        self.problems = []
        self.halt = threading.Event()
        self.thread = None

    def call(self, port, method, path, body, expect=200):
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        status, out = h.request("127.0.0.1", port, method, path, json.dumps(body), headers)
        if status != expect:
            raise RuntimeError(f"{method} {path} answered {status}: {out[:300]!r}")
        return json.loads(out)

    def make_available(self, port, agent):
        self.call(port, "PATCH", f"/api/v1/users/{agent}", {"available": True})

    def loads(self):
        """Unresolved tickets per agent of the team (agents holding none are absent)."""
        ids = ",".join(self.agents)
        return {
            a: int(n)
            for a, n in self.db.query(
                f"SELECT assignee_id, COUNT(*) FROM tickets WHERE assignee_id IN ({ids}) "
                f"AND status IN {UNRESOLVED} GROUP BY assignee_id"
            )
        }

    def waiting(self):
        return self.db.scalar(
            f"SELECT COUNT(*) FROM tickets WHERE team_id = {self.team} AND assignee_id IS NULL AND status IN {UNRESOLVED}"
        )

    def sample(self):
        self.max_load = max([self.max_load, *self.loads().values()])

    def start(self, ports):
        def resolve():
            k = 0
            while not self.halt.is_set():
                rows = self.db.query(
                    f"SELECT id FROM tickets WHERE team_id = {self.team} AND assignee_id IS NOT NULL "
                    f"AND status IN {UNRESOLVED} ORDER BY id LIMIT 2"
                )
                for (tid,) in rows:
                    # A node that is down (--kill) refuses the connection: the next one is asked.
                    for attempt in range(len(ports)):
                        k += 1
                        try:
                            self.call(ports[k % len(ports)], "PATCH", f"/api/v1/tickets/{tid}", {"status": "resolved"})
                            self.resolved += 1
                            break
                        except OSError as e:
                            if attempt == len(ports) - 1:
                                self.problems.append(f"routing: resolving ticket {tid}: {e}")
                        except RuntimeError as e:
                            self.problems.append(f"routing: resolving ticket {tid}: {e}")
                            break
                time.sleep(0.1)

        self.thread = threading.Thread(target=resolve, daemon=True)
        self.thread.start()

    def stop(self):
        self.halt.set()
        self.thread.join()

    def check_capped(self):
        """With the small cap: nobody over it, and no ticket waiting while someone had room."""
        problems = list(self.problems)
        loads = self.loads()
        waiting = self.waiting()
        if self.max_load > self.CAP:
            problems.append(f"routing: an agent held {self.max_load} unresolved tickets, over the cap of {self.CAP}")
        if waiting:
            problems += [
                f"routing: {waiting} tickets wait while agent {a} holds {loads.get(a, 0)} < {self.CAP}"
                for a in self.agents
                if loads.get(a, 0) < self.CAP
            ]
        return problems, loads, waiting

    def check_once(self):
        """Every ticket of the team assigned exactly once, by the router, to its current assignee."""
        problems = []
        tickets = dict(self.db.query(f"SELECT id, assignee_id FROM tickets WHERE team_id = {self.team}"))
        events = {}
        for tid, actor, after in self.db.query(
            "SELECT e.ticket_id, e.actor_kind, e.after_value FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
            f"WHERE t.team_id = {self.team} AND e.kind = 'assignee_changed'"
        ):
            events.setdefault(tid, []).append((actor, after))
        for tid, assignee in tickets.items():
            got = events.get(tid, [])
            if got != [("system", assignee)] or assignee not in self.agents:
                problems.append(f"routing: ticket {tid} (assignee {assignee or None}) has assignment events {got}")
        return problems, len(tickets)


class Sla:
    """A policy with short calendar-time targets for the routed team, and a supervisor of the team
    who receives the breach e-mails."""

    WARN = (50, 80)

    def __init__(self, routing, port, run_id):
        self.db = routing.db
        routing.call(
            port,
            "POST",
            "/api/v1/sla/policies",
            {
                "name": f"Nodes {run_id}",
                "conditions": {"team_id": [routing.team]},
                "targets": {"first_response": {"target": "4s"}, "resolution": {"target": "10s"}},
                "warn_at": list(self.WARN),
            },
            201,
        )
        self.db.execute(
            "INSERT INTO users (email, name, role, team_id, active, created_at) VALUES "
            f"('supervisor-{run_id}@routing.example', 'Supervisor', 'supervisor', {routing.team}, TRUE, "
            "CURRENT_TIMESTAMP AT TIME ZONE 'UTC')"
        )
        self.team = routing.team

    def wait_for_clocks(self, timeout=60):
        """Until no clock of the team has a warning or breach still to come."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            left = self.db.scalar(
                "SELECT COUNT(*) FROM sla_clocks c JOIN tickets t ON t.id = c.ticket_id "
                f"WHERE t.team_id = {self.team} AND c.next_fire_at IS NOT NULL"
            )
            if left == 0:
                return True
            time.sleep(0.5)
        return False

    def check(self, receiver, servers):
        problems = []
        firings = self.db.query(
            "SELECT CAST(c.ticket_id AS TEXT), c.kind, CAST(f.cycle AS TEXT), f.kind, f.worker, "
            "CAST(EXTRACT(EPOCH FROM (f.fired_at - f.due_at)) * 1000 AS BIGINT) "
            "FROM sla_firings f JOIN sla_clocks c ON c.id = f.clock_id JOIN tickets t ON t.id = c.ticket_id "
            f"WHERE t.team_id = {self.team}"
        )
        if not firings:
            problems.append("sla: no clock fired during the run, so nothing was checked")
        expected = {}
        by_pid = {}
        late = []
        for tid, clock, cycle, kind, worker, late_ms in firings:
            at = "breach" if kind == "breach" else kind.removeprefix("warning:")
            expected[(tid, clock, cycle, at)] = 0
            pid = int(worker.split(":")[1])
            by_pid[pid] = by_pid.get(pid, 0) + 1
            late.append(int(late_ms))
        for key in receiver.sla_deliveries():
            if key not in expected:
                problems.append(f"sla: webhook for {key}, which never fired")
            else:
                expected[key] += 1
        problems += [f"sla: firing {k} announced by {n} deliveries, not 1" for k, n in expected.items() if n != 1]
        events = dict(
            self.db.query(
                "SELECT CAST(e.ticket_id AS TEXT), COUNT(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
                f"WHERE t.team_id = {self.team} AND e.kind IN ('sla_warning', 'sla_breached') GROUP BY e.ticket_id"
            )
        )
        per_ticket = {}
        for tid, *_ in firings:
            per_ticket[tid] = per_ticket.get(tid, 0) + 1
        problems += [
            f"sla: ticket {tid} has {events.get(tid, 0)} warning/breach events for {n} firings"
            for tid, n in per_ticket.items()
            if int(events.get(tid, 0)) != n
        ]
        problems += [f"sla: ticket {tid} has SLA events but no firing" for tid in events if tid not in per_ticket]
        twice = self.db.query(
            "SELECT user_id, firing_id, COUNT(*) FROM sla_notifications GROUP BY user_id, firing_id HAVING COUNT(*) > 1"
        )
        problems += [f"sla: user {u} notified {n} times of firing {f}" for u, f, n in twice]
        notes = self.db.scalar("SELECT COUNT(*) FROM sla_notifications")
        breaches = sum(1 for f in firings if f[3] == "breach")
        with receiver.lock:
            mails = len(receiver.mails)
        if breaches and not mails:
            problems.append(f"sla: {breaches} breaches but no mail reached the SMTP sink")
        late.sort()
        pct = (lambda q: late[min(len(late) - 1, int(q * len(late)))]) if late else (lambda q: 0)
        nodes = {s.port: sum(by_pid.get(pid, 0) for pid in s.pids) for s in servers}
        print(
            f"sla: {len(firings)} firings ({breaches} breaches) on {len(per_ticket)} tickets, fired per node "
            + ", ".join(f":{p} {n}" for p, n in nodes.items())
            + f"; {notes} in-app notifications, {mails} mails; lateness p50 {pct(0.5)} ms, p99 {pct(0.99)} ms, "
            f"max {late[-1] if late else 0} ms: {'ok' if not problems else 'FAILED'}"
        )
        return problems


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--threads", type=int, default=2, help="load threads per kind of request")
    p.add_argument("--kill", action="store_true", help="SIGKILL one node a third of the way in and restart it")
    h.common_args(p, 18290, "first node's port; the receiver uses the one below")
    args = p.parse_args()

    lease = {"TANGGAP__JOBS__LEASE_SECS": "10"} if args.kill else {}
    work, receiver, db, env, token = h.setup_with_receiver("nodes", "postgres", args, sla=True, extra_env=lease)
    run_id = h.new_run_id()
    ports = [args.port + n for n in range(args.nodes)]
    servers = [h.Server(args.bin, env, port, os.path.join(work, f"node-{port}.log")) for port in ports]
    for s in servers:
        s.start()
        s.pids = [s.proc.pid]

    routing = Routing(db, ports[0], token, run_id)
    sla = Sla(routing, ports[1 % len(ports)], run_id)
    tickets = h.Tickets(run_id, team=routing.team)
    instagram = h.Instagram(run_id, base_ms=int(time.time() * 1000))
    replies = h.Replies(run_id, h.instagram_tickets(db, 1.0))
    load = h.Load([tickets, instagram], lambda: ports, token, threads=args.threads)
    h.log(f"{args.nodes} nodes on {db.url}, ports {ports}; load for {args.seconds:.0f} s, run {run_id}")
    load.start()
    routing.start(ports)
    # Which node holds the leases of running jobs (worker ids are host:pid:suffix), sampled.
    leases = {}
    sampling = threading.Event()

    def sample():
        while not sampling.is_set():
            for (owner,) in db.query("SELECT lease_owner FROM jobs WHERE lease_owner IS NOT NULL"):
                pid = int(owner.split(":")[1])
                leases[pid] = leases.get(pid, 0) + 1
            routing.sample()
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.time()
    time.sleep(min(3.0, args.seconds / 4))
    routing.make_available(ports[1 % len(ports)], routing.agents[-1])
    reply_load = h.Load([replies], lambda: ports, token, threads=args.threads)
    reply_load.start()
    killed = None
    if args.kill and len(servers) > 1:
        time.sleep(max(0.0, started + args.seconds / 3 - time.time()))
        killed = servers[-1]
        h.log(f"SIGKILL node :{killed.port} (pid {killed.proc.pid})")
        killed.kill()
        time.sleep(2)
        killed.start()
        killed.pids.append(killed.proc.pid)
        h.log(f"node :{killed.port} back as pid {killed.proc.pid}")
    time.sleep(max(0.0, started + args.seconds - time.time()))
    load.stop()
    reply_load.stop()
    routing.stop()
    unknown = load.settle(ports[0]) + reply_load.settle(ports[0])
    clocks_done = sla.wait_for_clocks()
    kinds = ("meta_event", "deliver_message", "webhook", "route_ticket", "route_team", "sla_email")
    drained = h.wait_for_jobs(db, kinds)
    sampling.set()
    sampler.join()
    capped, loads, waiting = routing.check_capped()
    # Room for everyone: the backlog is routed as well, then every ticket must be assigned once.
    routing.call(ports[2 % len(ports)], "PATCH", f"/api/v1/teams/{routing.team}", {"max_open_per_agent": 1000})
    drained = h.wait_for_jobs(db, kinds) and drained
    for s in servers:
        s.stop()

    problems = load.crashed + reply_load.crashed
    if unknown:
        problems.append(f"load: {unknown} requests never got an answer")
    if not drained:
        problems.append("jobs: still queued after 180 s")
    if not clocks_done:
        problems.append("sla: clocks still had warnings or breaches to fire 60 s after the load")
    kinds_sql = ", ".join(f"'{k}'" for k in kinds)
    left = db.query(f"SELECT kind, COUNT(*) FROM jobs WHERE kind IN ({kinds_sql}) GROUP BY kind")
    problems += [f"jobs: {n} {kind} jobs left (pending or dead)" for kind, n in left]

    per_node = {p: load.per_port.get(p, 0) + reply_load.per_port.get(p, 0) for p in ports}
    print(f"\n== {args.nodes} nodes on one PostgreSQL, {args.seconds:.0f} s of load")
    print("acknowledged per node: " + ", ".join(f":{p} {n}" for p, n in per_node.items()))
    by_node = {s.port: sum(leases.get(pid, 0) for pid in s.pids) for s in servers}
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
    allowed = 4 if killed else 0  # jobs.concurrency: the killed worker's calls in flight
    twice, repeats = h.judge_repeats(receiver, allowed)
    problems += twice
    print(f"webhook deliveries received: {n}, every ticket and message announced once: {'ok' if not found else 'FAILED'}")
    print(
        f"outside calls that arrived twice: {len(repeats)} (allowed {allowed}"
        + (f", node :{killed.port} was killed" if killed else "")
        + f"){': ' + ', '.join(f'{w} {k}' for w, k, _ in repeats) if repeats else ''}: {'ok' if not twice else 'FAILED'}"
    )
    problems += sla.check(receiver, servers)
    once, team_tickets = routing.check_once()
    problems += capped + once
    print(
        f"routing: {team_tickets} tickets to a team of {len(routing.agents)} agents (cap {routing.CAP}); "
        f"{routing.resolved} resolved during the load; highest load sampled {routing.max_load}; "
        f"at the end of the load {waiting} waiting, loads {sorted(loads.values())}: {'ok' if not capped else 'FAILED'}"
    )
    print(f"routing: every ticket assigned exactly once after the cap was raised: {'ok' if not once else 'FAILED'}")
    common = h.common_checks(db)
    problems += common
    print(f"store-wide checks: {'ok' if not common else 'FAILED'}")
    h.finish(db, work, problems, "several nodes", "\nseveral nodes passed: every job ran exactly once across the nodes")


if __name__ == "__main__":
    main()
