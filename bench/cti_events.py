#!/usr/bin/env python3
"""Drives a running `tanggap serve` with Generic CTI events: N calls (newCall, answer, hangup each)
over T keep-alive connections; prints events/s and latency percentiles.

    TANGGAP__PHONE__CTI_TOKEN=... tanggap serve &
    bench/cti_events.py http://127.0.0.1:8080 "$TANGGAP__PHONE__CTI_TOKEN" 1000 16
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse

base, token, n_calls, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
url = urllib.parse.urlparse(base)
latencies, failures, lock = [], [0], threading.Lock()
run = str(int(time.time()))


def worker(tid):
    conn = http.client.HTTPConnection(url.hostname, url.port or 80)
    for i in range(tid, n_calls, threads):
        for event in ("newCall", "answer", "hangup"):
            body = json.dumps({"event": event, "callId": f"bench-{run}-{i}", "direction": "in",
                               "from": f"0812{5000000 + i:08d}", "to": "0224200112", "user": "Dewi"})
            start = time.perf_counter()
            conn.request("POST", f"/api/v1/cti/{token}", body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            with lock:
                latencies.append(time.perf_counter() - start)
                failures[0] += resp.status != 200


workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
began = time.perf_counter()
for w in workers:
    w.start()
for w in workers:
    w.join()
elapsed = time.perf_counter() - began
latencies.sort()
pct = lambda p: latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000
print(f"{len(latencies)} events in {elapsed:.1f} s = {len(latencies) / elapsed:.0f} events/s; "
      f"p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms; non-200: {failures[0]}")
