#!/usr/bin/env bash
# Tanggap benchmark: ticket creation, agent inbox listing, citizen status lookups and signed
# Instagram webhooks over HTTP on SQLite and PostgreSQL, printed beside baselines measured in the
# same run on the same machine:
#   * raw_insert: the same rows per ticket written straight through diesel (no HTTP, no auth);
#   * raw_inbox: the same rows per webhook acknowledgement (stored body + job), straight through diesel;
#   * hello: a minimal actix handler that touches no database.
# Webhooks are measured twice: acknowledged per second (the server's workers off, so the HTTP path
# is measured alone), then processed into tickets per second by one worker draining that queue.
# Usage: bench/run.sh [seconds-per-run] [connections]      (defaults: 15 s, 32 connections)
# Needs wrk (apt-get install wrk) and PostgreSQL on this host. PostgreSQL is measured over its Unix
# socket (/var/run/postgresql, how a same-host deployment connects; TANGGAP_BENCH_PG overrides), then
# ticket creation again over TCP to 127.0.0.1:5432 (TANGGAP_BENCH_PG_TCP), where libpq negotiates TLS
# by default. It creates and drops the databases tanggap_bench* there.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-15}
CONN=${2:-32}
PG_TCP=${TANGGAP_BENCH_PG_TCP:-postgres://postgres@127.0.0.1:5432}
if [ -S /var/run/postgresql/.s.PGSQL.5432 ]; then
  PG=${TANGGAP_BENCH_PG:-postgres://postgres@%2Fvar%2Frun%2Fpostgresql}
else
  PG=${TANGGAP_BENCH_PG:-$PG_TCP}
fi
PORT=18090
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p tanggap -p tanggap-bench
BIN=$PWD/target/release/tanggap
BENCH=$PWD/target/release/tanggap-bench
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
RESULTS=$WORK/results.txt

wrk_run() { # name, then wrk arguments
  local name=$1; shift
  local out
  # Write back what earlier steps left dirty (raw inserts, e-mail intake: about a gigabyte), so the
  # kernel's writeback does not throttle this run's writes: with 2.5 GB being written beside it,
  # ticket creation's p99 went from 22 ms to 0.8-1.4 s, with any build.
  sync
  out=$(wrk -t2 -c"$CONN" -d"${DUR}s" --latency "$@")
  local rps p50 p99 errs
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errs=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '%-34s %10s req/s   p50 %-9s p99 %-9s non-2xx %s\n' "$name" "$rps" "$p50" "$p99" "${errs:-0}" | tee -a "$RESULTS"
}

stop_server() {
  kill -TERM $SERVER; wait $SERVER 2>/dev/null || true
  unset TANGGAP__DATABASE__URL TANGGAP__SERVER__BIND TANGGAP__PUBLIC__LOOKUPS_PER_MINUTE TANGGAP__JOBS__RUN_IN_SERVE
  unset TANGGAP__INSTAGRAM__APP_SECRETS TANGGAP__INSTAGRAM__ACCOUNT_ID
}

port_free() {
  if curl -s -o /dev/null "http://127.0.0.1:$1/"; then
    echo "port $1 is already in use; stop whatever listens there first" >&2; exit 1
  fi
}

wait_ready() {
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$1/$2" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2; return 1
}

echo "== $(date -u +%FT%TZ) $(nproc) cores; wrk -t2 -c$CONN -d${DUR}s on the same machine" | tee "$RESULTS"
META_SECRET=bench-app-secret-0001
"$BENCH" meta-payloads --n 400000 --secret "$META_SECRET" --out "$WORK/payloads.tsv"

port_free 18099
"$BENCH" hello --bind 127.0.0.1:18099 & HELLO=$!
wait_ready 18099 hello
wrk_run "baseline: actix hello (no db)" http://127.0.0.1:18099/hello
kill $HELLO; wait $HELLO 2>/dev/null || true

port_free $PORT
for backend in sqlite postgres postgres-tcp; do
  if [ $backend = sqlite ]; then
    RAW_URL="sqlite://$WORK/raw.db"; URL="sqlite://$WORK/serve.db"
    MAIL_A="sqlite://$WORK/mail-a.db"; MAIL_B="sqlite://$WORK/mail-b.db"
  elif [ $backend = postgres-tcp ]; then
    # Ticket creation only, to show what the transport costs.
    psql "$PG_TCP/postgres" -qc 'DROP DATABASE IF EXISTS tanggap_bench_raw' -c 'CREATE DATABASE tanggap_bench_raw' \
      -c 'DROP DATABASE IF EXISTS tanggap_bench' -c 'CREATE DATABASE tanggap_bench' >/dev/null
    RAW_URL="$PG_TCP/tanggap_bench_raw"; URL="$PG_TCP/tanggap_bench"
  else
    psql "$PG/postgres" -qc 'DROP DATABASE IF EXISTS tanggap_bench_raw' -c 'CREATE DATABASE tanggap_bench_raw' \
      -c 'DROP DATABASE IF EXISTS tanggap_bench' -c 'CREATE DATABASE tanggap_bench' \
      -c 'DROP DATABASE IF EXISTS tanggap_bench_mail_a' -c 'CREATE DATABASE tanggap_bench_mail_a' \
      -c 'DROP DATABASE IF EXISTS tanggap_bench_mail_b' -c 'CREATE DATABASE tanggap_bench_mail_b' >/dev/null
    RAW_URL="$PG/tanggap_bench_raw"; URL="$PG/tanggap_bench"
    MAIL_A="$PG/tanggap_bench_mail_a"; MAIL_B="$PG/tanggap_bench_mail_b"
  fi
  raw=$("$BENCH" raw-insert --url "$RAW_URL" --n 20000 | awk -F'tickets_per_sec=' '{print $2}')
  printf '%-34s %10s tickets/s (one connection, one tx per ticket)\n' "baseline: $backend raw insert" "$raw" | tee -a "$RESULTS"
  if [ $backend != postgres-tcp ]; then
  # E-mail intake: 10,000 generated mixed mails, in-process (ingest-email/IMAP path) and over HTTP.
  RUST_LOG=error "$BENCH" email --url "$MAIL_A" --http-url "$MAIL_B" --n 10000 --concurrency "$CONN" |
    awk -v b="$backend" '/mails_per_sec/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      printf "%-34s %10s mails/s\n", b ": e-mail " $1, v["mails_per_sec"] }' | tee -a "$RESULTS"
  raw=$("$BENCH" raw-inbox --url "$RAW_URL" --n 20000 | awk -F'acks_per_sec=' '{print $2}')
  printf '%-34s %10s acks/s (one connection, one tx per body)\n' "baseline: $backend raw inbox insert" "$raw" | tee -a "$RESULTS"
  fi

  export TANGGAP__DATABASE__URL=$URL TANGGAP__SERVER__BIND=127.0.0.1:$PORT TANGGAP__PUBLIC__LOOKUPS_PER_MINUTE=1000000000
  export TANGGAP__JOBS__RUN_IN_SERVE=false TANGGAP__INSTAGRAM__APP_SECRETS=$META_SECRET
  export TANGGAP__INSTAGRAM__ACCOUNT_ID=17841400000000001
  RUST_LOG=warn "$BIN" serve >"$WORK/serve-$backend.log" 2>&1 & SERVER=$!
  wait_ready $PORT readyz
  TANGGAP_PASSWORD=bench-password-123 "$BIN" user add --email bench@tanggap.example --name Bench --role admin 2>/dev/null
  TOKEN=$("$BIN" token create --email bench@tanggap.example)
  export TOKEN

  wrk_run "$backend: POST /api/v1/tickets" -s bench/post_ticket.lua "http://127.0.0.1:$PORT"
  rss=$(ps -o rss= -p $SERVER | tr -d ' ')
  tickets=$(curl -s "http://127.0.0.1:$PORT/api/v1/tickets?limit=1" -H "Authorization: Bearer $TOKEN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
  printf '%-34s %10s KiB RSS after creating %s tickets\n' "$backend: server memory" "$rss" "$tickets" | tee -a "$RESULTS"
  if [ $backend = postgres-tcp ]; then stop_server; continue; fi

  wrk_run "$backend: GET /api/v1/tickets (inbox)" -s bench/get_with_token.lua "http://127.0.0.1:$PORT/api/v1/tickets?status=new,open&limit=50"
  created=$(curl -s -XPOST "http://127.0.0.1:$PORT/api/v1/tickets" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"subject":"Lampu jalan mati","body":"Sejak kemarin","channel":"web","contact":{"name":"Ani","email":"ani@warga.example"}}')
  number=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["number"])' "$created")
  token=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["access_token"])' "$created")
  wrk_run "$backend: GET public status lookup" "http://127.0.0.1:$PORT/api/v1/public/tickets/$number?token=$token"
  rss=$(ps -o rss= -p $SERVER | tr -d ' ')
  printf '%-34s %10s KiB RSS at the end\n' "$backend: server memory" "$rss" | tee -a "$RESULTS"

  PAYLOADS=$WORK/payloads.tsv THREADS=2 wrk_run "$backend: POST /webhooks/instagram" -s bench/meta_webhook.lua "http://127.0.0.1:$PORT"

  stop_server
  out=$("$BENCH" drain --url "$URL")
  printf '%-34s %10s bodies/s, %s new tickets/s (%s)\n' "$backend: webhook processing, 1 worker" \
    "$(awk -F'jobs_per_sec=' '{split($2, a, " "); print a[1]}' <<<"$out")" \
    "$(awk -F'tickets_per_sec=' '{print $2}' <<<"$out")" "$(awk '{print $2, $3, $4}' <<<"$out")" | tee -a "$RESULTS"
done
[ -n "${TANGGAP_BENCH_PG:-}" ] || psql "$PG/postgres" -qc 'DROP DATABASE IF EXISTS tanggap_bench_raw' -c 'DROP DATABASE IF EXISTS tanggap_bench' \
  -c 'DROP DATABASE IF EXISTS tanggap_bench_mail_a' -c 'DROP DATABASE IF EXISTS tanggap_bench_mail_b' >/dev/null
echo "== summary"; cat "$RESULTS"
