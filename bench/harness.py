"""Shared pieces of the resilience scripts (crash.py, nodes.py, soak.py): a throwaway database,
`tanggap serve` processes, the four write channels as request generators that remember what was
acknowledged, and read-only queries for the checks afterwards.

Only the Python standard library is used; PostgreSQL is queried through `psql`.
"""

import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
META_SECRET = "resilience-app-secret-0001"
IG_ACCOUNT = "17841400000000001"
EMAIL_TOKEN = "resilience-email-token-0001"
CTI_TOKEN = "resilience-cti-token-0001"
ADMIN_EMAIL = "resilience@tanggap.example"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Database:
    """A fresh database: a SQLite file in a temporary directory, or a PostgreSQL database created
    (and dropped at the end) on the server at `pg_base` (a URL without the database name)."""

    def __init__(self, backend, workdir, pg_base, name):
        self.backend = backend
        self.pg_base = pg_base.rstrip("/")
        self.name = name
        if backend == "sqlite":
            self.path = os.path.join(workdir, f"{name}.db")
            self.url = f"sqlite://{self.path}"
        else:
            self.url = f"{self.pg_base}/{name}"
            self._admin(f"DROP DATABASE IF EXISTS {name}")
            self._admin(f"CREATE DATABASE {name}")

    def _admin(self, sql):
        subprocess.run(["psql", f"{self.pg_base}/postgres", "-qXc", sql], check=True, stdout=subprocess.DEVNULL)

    def drop(self):
        if self.backend == "postgres":
            self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    def query(self, sql):
        """Rows as tuples of strings (None for NULL on SQLite, '' on PostgreSQL)."""
        if self.backend == "sqlite":
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
            try:
                return [tuple(None if v is None else str(v) for v in row) for row in conn.execute(sql)]
            finally:
                conn.close()
        out = subprocess.run(
            ["psql", self.url, "-XqtA", "-F", "\x1f", "-R", "\x1e", "-c", sql],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return [tuple(r.split("\x1f")) for r in out.rstrip("\n").split("\x1e") if r != ""]

    def execute(self, sql):
        if self.backend == "sqlite":
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                conn.execute(sql)
                conn.commit()
            finally:
                conn.close()
        else:
            subprocess.run(["psql", self.url, "-Xqc", sql], check=True, stdout=subprocess.DEVNULL)

    def scalar(self, sql):
        return int(self.query(sql)[0][0])

    def payload_text(self):
        """SQL expression for inbound_events.payload as text."""
        return "CAST(payload AS TEXT)" if self.backend == "sqlite" else "convert_from(payload, 'UTF8')"


def base_env(db_url, work, extra=None, profile=""):
    """Environment for `tanggap`: the channels on with test secrets. The Instagram account id goes
    in a profile file (`profile` adds more TOML), as a numeric-looking environment value would be
    read as a number."""
    confdir = os.path.join(work, "config")
    os.makedirs(confdir, exist_ok=True)
    with open(os.path.join(confdir, "resilience.toml"), "w") as f:
        f.write(f'[instagram]\naccount_id = "{IG_ACCOUNT}"\n{profile}')
    env = dict(os.environ)
    env.update(
        {
            "TANGGAP_CONFIG_DIR": confdir,
            "TANGGAP_ENV": "resilience",
            "TANGGAP__DATABASE__URL": db_url,
            "TANGGAP__PUBLIC__LOOKUPS_PER_MINUTE": "1000000000",
            "TANGGAP__INSTAGRAM__APP_SECRETS": META_SECRET,
            "TANGGAP__EMAIL__INBOUND_TOKEN": EMAIL_TOKEN,
            "TANGGAP__PHONE__CTI_TOKEN": CTI_TOKEN,
            "RUST_LOG": os.environ.get("RUST_LOG", "warn"),
        }
    )
    env.update(extra or {})
    return env


def prepare(binary, env):
    """Migrates the database and returns an admin API token."""
    subprocess.run([binary, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    env2 = dict(env, TANGGAP_PASSWORD="resilience-password-123")
    subprocess.run(
        [binary, "user", "add", "--email", ADMIN_EMAIL, "--name", "Resilience", "--role", "admin"],
        env=env2,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return subprocess.run(
        [binary, "token", "create", "--email", ADMIN_EMAIL], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


class Server:
    """One `tanggap serve` process; `kill()` is SIGKILL, `stop()` is SIGTERM and wait."""

    def __init__(self, binary, env, port, logpath):
        self.binary, self.port, self.logpath = binary, port, logpath
        self.env = dict(env, TANGGAP__SERVER__BIND=f"127.0.0.1:{port}")
        self.proc = None

    def start(self, timeout=60):
        logf = open(self.logpath, "ab")
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=logf, stderr=logf)
        logf.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server on port {self.port} exited with {self.proc.returncode}; see {self.logpath}")
            try:
                if request("127.0.0.1", self.port, "GET", "/readyz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server on port {self.port} not ready after {timeout}s; see {self.logpath}")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def rss_kib(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None


def request(host, port, method, path, body=None, headers=None, timeout=15):
    """One request on a fresh connection: (status, body bytes). Raises OSError on network failure."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def parse_answer(out):
    try:
        return json.loads(out)
    except ValueError:
        return {"raw": out[:200].decode("utf-8", "replace")}


class Channel:
    """A stream of distinct write requests of one kind. `make(i)` builds request i; `check(...)`
    verifies afterwards. Every 2xx answer is recorded in `acked` (item -> parsed answer); a request
    whose outcome is unknown (connection refused or reset, 5xx) is kept in `unsure` and retried with
    the very same bytes and keys, as a real client or platform would."""

    name = "?"
    keep_answers = True

    def __init__(self, run_id):
        self.run_id = run_id
        self.acked = {}
        self.unsure = set()
        self.sent = 0
        self.resent = 0
        self.failed = 0  # network errors and 5xx answers
        self.errors_4xx = []
        self.lock = threading.Lock()

    def send(self, port, i, token):
        with self.lock:
            self.resent += i in self.unsure
        try:
            method, path, body, headers = self.make(i, token)
            status, out = request("127.0.0.1", port, method, path, body, headers)
        except OSError:
            with self.lock:
                self.unsure.add(i)
                self.failed += 1
            return "neterr"
        with self.lock:
            self.sent += 1
            if 200 <= status < 300:
                self.acked[i] = parse_answer(out) if self.keep_answers else None
                self.unsure.discard(i)
                return "ok"
            if status >= 500:
                self.unsure.add(i)
                self.failed += 1
                return "5xx"
            self.errors_4xx.append((i, status, out[:300]))
            self.unsure.discard(i)
            return "4xx"


class Tickets(Channel):
    """POST /api/v1/tickets with an Idempotency-Key per ticket; for `team`, when given."""

    name = "tickets"

    def __init__(self, run_id, team=None):
        super().__init__(run_id)
        self.team = team

    def key(self, i):
        return f"{self.run_id}-t{i}"

    def make(self, i, token):
        doc = {
            "subject": f"crash {self.key(i)} jalan berlubang",
            "body": "Lubang besar di depan sekolah, sudah dua minggu.",
            "channel": "phone",
            "contact": {"name": f"Warga {i % 97}", "phone": f"0813{(i % 97):08d}"},
        }
        if self.team is not None:
            doc["team"] = self.team
        body = json.dumps(doc)
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": self.key(i),
        }
        return "POST", "/api/v1/tickets", body, headers

    def check(self, db):
        problems = []
        rows = db.query(f"SELECT id, subject FROM tickets WHERE subject LIKE 'crash {self.run_id}-t%'")
        by_subject = {}
        for tid, subject in rows:
            by_subject.setdefault(subject, []).append(tid)
        for i, answer in self.acked.items():
            ids = by_subject.get(f"crash {self.key(i)} jalan berlubang", [])
            if str(answer.get("id")) not in ids:
                problems.append(f"tickets: acknowledged ticket {answer.get('id')} (key {self.key(i)}) is missing")
        for subject, ids in by_subject.items():
            if len(ids) > 1:
                problems.append(f"tickets: {len(ids)} tickets for one Idempotency-Key ({subject}): ids {ids}")
        dup = db.query(
            f"SELECT idem_key, COUNT(*) FROM idempotency_keys WHERE idem_key LIKE '{self.run_id}-t%' "
            "GROUP BY idem_key HAVING COUNT(*) > 1"
        )
        problems += [f"tickets: idempotency key {k} stored {n} times" for k, n in dup]
        return problems, len(rows)


class Instagram(Channel):
    """Signed Instagram direct-message webhooks; 50 citizens, so messages thread into tickets."""

    name = "instagram"

    def __init__(self, run_id, base_ms=1_786_600_000_000):
        """`base_ms`: platform timestamp of message 0 (message i is i ms later); pass the current
        time when replies must fall inside the 24-hour window."""
        super().__init__(run_id)
        self.base_ms = base_ms

    def mid(self, i):
        return f"crash-{self.run_id}-mid-{i}"

    def make(self, i, token):
        sender = 9_100_000_000_000_000 + (i % 50)
        ts = self.base_ms + i
        body = json.dumps(
            {
                "object": "instagram",
                "entry": [
                    {
                        "time": ts,
                        "id": IG_ACCOUNT,
                        "messaging": [
                            {
                                "sender": {"id": str(sender)},
                                "recipient": {"id": IG_ACCOUNT},
                                "timestamp": ts,
                                "message": {"mid": self.mid(i), "text": f"Lampu PJU gang {i} mati"},
                            }
                        ],
                    }
                ],
            },
            separators=(",", ":"),
        ).encode()
        sig = "sha256=" + hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()
        return "POST", "/webhooks/instagram", body, {"Content-Type": "application/json", "X-Hub-Signature-256": sig}

    def check(self, db):
        problems = []
        bodies = db.query(f"SELECT {db.payload_text()}, state FROM inbound_events WHERE source = 'instagram'")
        stored = set()
        for payload, state in bodies:
            for entry in json.loads(payload).get("entry", []):
                for m in entry.get("messaging", []):
                    stored.add(m["message"]["mid"])
            if state != "processed":
                problems.append(f"instagram: a stored body is {state!r}, not processed")
        msgs = {}
        for (ext,) in db.query(f"SELECT external_id FROM messages WHERE channel = 'instagram'"):
            msgs[ext] = msgs.get(ext, 0) + 1
        for i in self.acked:
            if self.mid(i) not in stored:
                problems.append(f"instagram: acknowledged webhook body with {self.mid(i)} is not stored")
            if msgs.get(self.mid(i), 0) != 1:
                problems.append(f"instagram: {self.mid(i)} is {msgs.get(self.mid(i), 0)} messages, not 1")
        return problems, len(msgs)


class Email(Channel):
    """Raw mail to POST /api/v1/channels/email/inbound; 40 senders."""

    name = "email"

    def message_id(self, i):
        return f"crash-{self.run_id}-{i}@warga.example"

    def make(self, i, token):
        raw = (
            f"From: Warga {i % 40} <warga{i % 40}@warga.example>\r\n"
            "To: Layanan Pengaduan <pengaduan@localhost.localdomain>\r\n"
            f"Subject: Saluran air tersumbat {i}\r\n"
            f"Message-ID: <{self.message_id(i)}>\r\n"
            "Date: Tue, 01 Dec 2026 10:00:00 +0700\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "\r\n"
            f"Selamat pagi, saluran air di RT {i % 40} tersumbat sejak kemarin.\r\n"
        ).encode()
        return (
            "POST",
            "/api/v1/channels/email/inbound",
            raw,
            {"Content-Type": "message/rfc822", "Authorization": f"Bearer {EMAIL_TOKEN}"},
        )

    def check(self, db):
        problems = []
        msgs = {}
        for (ext,) in db.query(
            f"SELECT external_id FROM messages WHERE channel = 'email' AND external_id LIKE 'crash-{self.run_id}-%'"
        ):
            msgs[ext] = msgs.get(ext, 0) + 1
        for i, answer in self.acked.items():
            n = msgs.get(self.message_id(i), 0)
            if answer.get("action") not in ("created_ticket", "appended", "duplicate"):
                problems.append(f"email: {self.message_id(i)} answered {answer}")
            elif n != 1:
                problems.append(f"email: acknowledged {self.message_id(i)} is {n} messages, not 1")
        return problems, len(msgs)


class Cti(Channel):
    """Generic CTI events: each call is newCall, answer, hangup (request i is event i % 3 of call i // 3)."""

    name = "cti"
    EVENTS = ("newCall", "answer", "hangup")

    def call_event(self, i):
        return f"crash-{self.run_id}-call-{i // 3}", self.EVENTS[i % 3]

    def make(self, i, token):
        call_id, event = self.call_event(i)
        body = {"event": event, "callId": call_id, "direction": "in", "from": f"0812{(i // 3) % 500:08d}", "to": "112"}
        if event == "hangup":
            body["cause"] = "normalClearing"
        if event == "answer":
            body["answeringNumber"] = "201"
        return "POST", f"/api/v1/cti/{CTI_TOKEN}", json.dumps(body), {"Content-Type": "application/json"}

    def check(self, db):
        problems = []
        rows = {}
        for call_id, event in db.query(
            f"SELECT call_id, event FROM call_events WHERE call_id LIKE 'crash-{self.run_id}-call-%'"
        ):
            rows[(call_id, event)] = rows.get((call_id, event), 0) + 1
        for i in self.acked:
            n = rows.get(self.call_event(i), 0)
            if n != 1:
                problems.append(f"cti: acknowledged event {self.call_event(i)} stored {n} times, not once")
        calls = db.scalar(f"SELECT COUNT(*) FROM calls WHERE call_id LIKE 'crash-{self.run_id}-call-%'")
        distinct = len({c for c, _ in rows})
        if calls != distinct:
            problems.append(f"cti: {distinct} calls have events but {calls} call rows exist")
        return problems, len(rows)


def all_channels(run_id):
    return [Tickets(run_id), Instagram(run_id), Email(run_id), Cti(run_id)]


class Load:
    """`threads` threads per channel sending fresh requests (and retrying unsure ones) to the ports
    in `ports()` round-robin until `stop()`."""

    def __init__(self, channels, ports, token, threads=1, pause=0.0):
        self.channels, self.ports, self.token = channels, ports, token
        self.threads_per, self.pause = threads, pause
        self.halt = threading.Event()
        self.counter = {c.name: 0 for c in channels}
        self.clock = threading.Lock()
        self.threads = []
        self.crashed = []
        self.per_port = {}

    def next_index(self, ch):
        with self.clock:
            i = self.counter[ch.name]
            self.counter[ch.name] = i + 1
            return i

    def worker(self, ch, n):
        try:
            self.drive(ch, n)
        except Exception as e:  # a broken load thread must fail the run, not thin the load silently
            self.crashed.append(f"{ch.name} load thread: {e!r}")

    def drive(self, ch, n):
        k = n
        while not self.halt.is_set():
            with ch.lock:
                retry = next(iter(ch.unsure), None)
            i = retry if retry is not None else self.next_index(ch)
            ports = self.ports()
            k += 1
            port = ports[k % len(ports)]
            result = ch.send(port, i, self.token)
            with self.clock:
                self.per_port[port] = self.per_port.get(port, 0) + (result == "ok")
            if result == "neterr":
                time.sleep(0.05)
            elif self.pause:
                time.sleep(self.pause)

    def start(self):
        for ch in self.channels:
            for n in range(self.threads_per):
                t = threading.Thread(target=self.worker, args=(ch, n), daemon=True)
                t.start()
                self.threads.append(t)

    def stop(self):
        self.halt.set()
        for t in self.threads:
            t.join()

    def settle(self, port, timeout=120):
        """Sends every request whose outcome is still unknown again until each is answered."""
        deadline = time.time() + timeout
        for ch in self.channels:
            while ch.unsure and time.time() < deadline:
                with ch.lock:
                    pending = list(ch.unsure)
                for i in pending:
                    ch.send(port, i, self.token)
                if ch.unsure:
                    time.sleep(0.5)
        return sum(len(ch.unsure) for ch in self.channels)


def wait_for_jobs(db, kinds=("meta_event",), timeout=180):
    """Waits until no job of `kinds` is left (done jobs are deleted) and no stored webhook body is pending."""
    kinds_sql = ",".join(f"'{k}'" for k in kinds)
    deadline = time.time() + timeout
    while time.time() < deadline:
        left = db.scalar(f"SELECT COUNT(*) FROM jobs WHERE kind IN ({kinds_sql}) AND dead_at IS NULL")
        pending = db.scalar("SELECT COUNT(*) FROM inbound_events WHERE state = 'pending'")
        if left == 0 and pending == 0:
            return True
        time.sleep(0.5)
    return False


def queue_state(db):
    """(jobs waiting, seconds the oldest due and unclaimed job has waited) — a worker that keeps up
    keeps the second small."""
    rows = db.query(
        "SELECT COUNT(*), MIN(CASE WHEN lease_owner IS NULL THEN run_at END) FROM jobs WHERE dead_at IS NULL"
    )
    n, oldest = rows[0]
    if not oldest:
        return int(n), 0.0
    import calendar

    t = calendar.timegm(time.strptime(oldest[:19], "%Y-%m-%d %H:%M:%S"))
    return int(n), max(0.0, time.time() - t)


def common_checks(db):
    """Store-wide invariants: no duplicated channel message ids, no dead jobs of ours, SQLite integrity."""
    problems = []
    for ch, ext, n in db.query(
        "SELECT channel, external_id, COUNT(*) FROM messages WHERE external_id IS NOT NULL "
        "GROUP BY channel, external_id HAVING COUNT(*) > 1"
    ):
        problems.append(f"store: message {ch}/{ext} stored {n} times")
    for kind, err in db.query(
        "SELECT kind, last_error FROM jobs WHERE dead_at IS NOT NULL AND kind IN ('meta_event', 'deliver_message', 'webhook')"
    ):
        problems.append(f"store: dead {kind} job: {err}")
    if db.backend == "sqlite":
        result = db.query("PRAGMA integrity_check")
        if result != [("ok",)]:
            problems.append(f"store: PRAGMA integrity_check says {result[:5]}")
        fk = db.query("PRAGMA foreign_key_check")
        if fk:
            problems.append(f"store: PRAGMA foreign_key_check found {len(fk)} rows, e.g. {fk[:3]}")
    return problems


def new_run_id():
    return uuid.uuid4().hex[:8]


def workdir(prefix):
    return tempfile.mkdtemp(prefix=prefix)


def default_binary():
    return os.path.join(ROOT, "target", "debug", "tanggap")


def keep_or_remove(db, work, problems):
    """Keeps the database and logs of a failed run for inspection, removes them otherwise."""
    if problems:
        print(f"database and logs kept: {db.url}, {work}")
    else:
        db.drop()
        shutil.rmtree(work)


def finish(db, work, problems, title, success):
    """`keep_or_remove`, then exits 1 with the violations or prints `success`."""
    keep_or_remove(db, work, problems)
    fail_if(problems, title)
    print(success)


def fail_if(problems, title):
    if problems:
        print(f"\nFAILED: {title}: {len(problems)} violation(s)")
        for p in problems[:50]:
            print("  - " + p)
        if len(problems) > 50:
            print(f"  … and {len(problems) - 50} more")
        sys.exit(1)


class Receiver:
    """A loopback stand-in for the outside world: outgoing webhooks (counted by X-Tanggap-Delivery)
    and the Graph API (`POST …/messages` counted by the reply text, answered with a fresh id) on
    `port`, and an SMTP sink (counted by Message-ID) on `port - 1`."""

    EVENTS = ("ticket.created", "message.created")
    SLA_EVENTS = ("sla.warning", "sla.breached")

    def __init__(self, port, sla=False):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.port = port
        self.events = self.EVENTS + (self.SLA_EVENTS if sla else ())
        self.lock = threading.Lock()
        self.deliveries = {}  # delivery id -> (count, event, data)
        self.sends = {}  # reply text -> count
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                delivery = self.headers.get("X-Tanggap-Delivery")
                answer = b"{}"
                with receiver.lock:
                    if delivery:
                        doc = json.loads(body)
                        n = receiver.deliveries.get(delivery, (0,))[0]
                        receiver.deliveries[delivery] = (n + 1, doc["event"], doc["data"])
                    elif self.path.endswith("/messages"):
                        text = json.loads(body)["message"]["text"]
                        receiver.sends[text] = receiver.sends.get(text, 0) + 1
                        answer = json.dumps({"recipient_id": "x", "message_id": f"m-{uuid.uuid4().hex}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

        import socketserver

        self.mails = {}  # Message-ID -> count

        class Smtp(socketserver.StreamRequestHandler):
            """Just enough SMTP for an MTA stand-in: accepts everything, counts Message-IDs."""

            def handle(self):
                try:
                    self.converse()
                except ConnectionError:
                    pass  # the sending node was killed mid-conversation: its mail is not counted

            def converse(self):
                self.wfile.write(b"220 sink ESMTP\r\n")
                while line := self.rfile.readline():
                    verb = line[:4].upper()
                    if verb == b"DATA":
                        self.wfile.write(b"354 go on\r\n")
                        data = b"".join(iter(lambda: self.rfile.readline(), b".\r\n"))
                        mid = next((v for k, _, v in (l.partition(b":") for l in data.split(b"\r\n"))
                                    if k.lower() == b"message-id"), b"").strip().decode()
                        with receiver.lock:
                            receiver.mails[mid] = receiver.mails.get(mid, 0) + 1
                        self.wfile.write(b"250 queued\r\n")
                    elif verb == b"EHLO":
                        self.wfile.write(b"250-sink\r\n250 8BITMIME\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.smtp = socketserver.ThreadingTCPServer(("127.0.0.1", port - 1), Smtp)
        self.smtp.daemon_threads = True
        threading.Thread(target=self.smtp.serve_forever, daemon=True).start()

    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def profile(self):
        """TOML for `base_env(profile=…)`: webhooks to this receiver."""
        return (
            f'[[webhooks]]\nurl = "{self.url()}/hook"\nsecret = "resilience-hook-secret"\n'
            f"events = {json.dumps(list(self.events))}\n"
        )

    def env(self):
        return {
            "TANGGAP__META__GRAPH_BASE_URL": self.url(),
            "TANGGAP__INSTAGRAM__ACCESS_TOKEN": "resilience-graph-token",
            "TANGGAP__INSTAGRAM__SENDS_PER_SECOND": "10000",
            "TANGGAP__EMAIL__SMTP_URL": f"smtp://127.0.0.1:{self.port - 1}",
        }

    def repeats(self):
        """Every outside effect that arrived more than once: (what, key, times). A job is
        at-least-once only where its worker died between the call and marking it done."""
        with self.lock:
            return (
                [("webhook delivery", d, n) for d, (n, _, _) in self.deliveries.items() if n > 1]
                + [("Graph API send", t, n) for t, n in self.sends.items() if n > 1]
                + [("mail", m, n) for m, n in self.mails.items() if n > 1]
            )

    def sla_deliveries(self):
        """(ticket id, clock, cycle, "75%" or "breach") of each distinct sla.* delivery."""
        with self.lock:
            return [
                (str(data["ticket"]["id"]), data["sla"]["clock"], str(data["sla"]["cycle"]), data["sla"]["at"])
                for _, event, data in self.deliveries.values()
                if event in self.SLA_EVENTS
            ]

    def check(self, db):
        """Every ticket and message (but our automatic e-mail acknowledgements, which are not
        announced) announced by exactly one delivery. How often each delivery, Graph API send and
        mail arrived is `repeats()`, judged by the caller."""
        problems = []
        with self.lock:
            deliveries = dict(self.deliveries)
        announced = {"ticket.created": {}, "message.created": {}}
        for delivery, (n, event, data) in deliveries.items():
            if event not in announced:
                continue
            obj = data if event == "ticket.created" else data["message"]
            announced[event][str(obj["id"])] = announced[event].get(str(obj["id"]), 0) + 1
        announced_sql = {
            "tickets": "SELECT id FROM tickets",
            "messages": "SELECT id FROM messages WHERE NOT (direction = 'outbound' AND author_user_id IS NULL)",
        }
        for event, table in (("ticket.created", "tickets"), ("message.created", "messages")):
            ids = {r[0] for r in db.query(announced_sql[table])}
            for i in ids:
                if announced[event].get(i, 0) != 1:
                    problems.append(f"webhooks: {table} {i} announced {announced[event].get(i, 0)} times by {event}")
            problems += [f"webhooks: {event} for {i}, which is not in {table}" for i in announced[event] if i not in ids]
        return problems, len(deliveries)


def judge_repeats(receiver, allowed=0):
    """Problems for outside effects that arrived twice: none allowed without a crash; after a
    SIGKILL at most `allowed` (the killed worker's concurrent jobs), each exactly twice."""
    repeats = receiver.repeats()
    if len(repeats) <= allowed and all(n == 2 for _, _, n in repeats):
        return [], repeats
    return [f"{what} {key!r} arrived {n} times" for what, key, n in repeats], repeats


class Reads(Channel):
    """What agents and citizens read: the agent inbox and public status lookups of tickets that
    `tickets` (a Tickets channel) created."""

    name = "reads"
    keep_answers = False

    def __init__(self, run_id, tickets):
        super().__init__(run_id)
        self.tickets = tickets

    def make(self, i, token):
        created = list(self.tickets.acked.values())[-50:]
        if i % 2 == 0 or not created:
            headers = {"Authorization": f"Bearer {token}"}
            return "GET", "/api/v1/tickets?status=new,open&limit=50", None, headers
        t = created[i % len(created)]
        return "GET", f"/api/v1/public/tickets/{t['number']}?token={t['access_token']}", None, {}

    def check(self, db):
        return [], 0


def common_args(parser, port, help_port):
    parser.add_argument("--port", type=int, default=port, help=help_port)
    parser.add_argument("--bin", default=default_binary())
    parser.add_argument("--pg", default=os.environ.get("TANGGAP_BENCH_PG", "postgres://postgres@127.0.0.1:5432"))


def setup_with_receiver(name, backend, args, sla=False, extra_env=None):
    """A work directory, a Receiver on `args.port - 1` (also taking `sla.*` webhooks with `sla`), a
    fresh database `tanggap_<name>`, the environment pointing every outbound path at the receiver
    (plus `extra_env`), and an admin token."""
    work = workdir(f"tanggap-{name}-")
    receiver = Receiver(args.port - 1, sla=sla)
    db = Database(backend, work, args.pg, f"tanggap_{name}")
    extra = dict(receiver.env(), TANGGAP__JOBS__POLL_INTERVAL_MS="200", **(extra_env or {}))
    env = base_env(db.url, work, extra, receiver.profile())
    return work, receiver, db, env, prepare(args.bin, env)


def instagram_tickets(db, refresh_secs):
    """A function listing (at most 500) Instagram ticket ids, re-read at most every `refresh_secs`."""
    cache = {"ids": [], "at": 0.0}

    def ids():
        if time.time() - cache["at"] > refresh_secs:
            cache["ids"] = [r[0] for r in db.query("SELECT id FROM tickets WHERE channel = 'instagram' LIMIT 500")]
            cache["at"] = time.time()
        return cache["ids"]

    return ids


class Replies(Channel):
    """Agent replies (`POST /api/v1/tickets/{id}/messages`, kind reply, Idempotency-Key) on the
    Instagram tickets listed by `tickets()`; each becomes a deliver_message job to the Graph API."""

    name = "replies"

    def __init__(self, run_id, tickets):
        super().__init__(run_id)
        self.tickets = tickets
        self.target = {}

    def text(self, i):
        return f"Terima kasih, sudah kami teruskan ({self.run_id}-r{i})"

    def make(self, i, token):
        if i not in self.target:
            ids = self.tickets()
            self.target[i] = ids[i % len(ids)] if ids else None
        if self.target[i] is None:
            self.target.pop(i)
            raise OSError("no Instagram ticket yet")
        body = json.dumps({"kind": "reply", "body": self.text(i)})
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": f"{self.run_id}-r{i}",
        }
        return "POST", f"/api/v1/tickets/{self.target[i]}/messages", body, headers

    def check(self, db, receiver):
        problems = []
        states = dict(db.query("SELECT CAST(id AS TEXT), delivery_state FROM messages WHERE direction = 'outbound'"))
        for i, answer in self.acked.items():
            mid = str(answer.get("id"))
            if states.get(mid) != "sent":
                problems.append(f"replies: acknowledged reply {mid} is {states.get(mid)!r}, not sent")
            if receiver.sends.get(self.text(i), 0) == 0:
                problems.append(f"replies: reply {mid} never reached the Graph API")
        return problems, sum(1 for s in states.values() if s == "sent")
