#!/usr/bin/env bash
# Fuzz the parsers of untrusted input for a bounded time each, with a memory cap:
#   email      e-mail parsing (MIME, headers, classification, quote stripping, HTML sanitising)
#   instagram  Instagram webhook bodies;  whatsapp  WhatsApp webhook bodies
#   cti        Generic CTI events as JSON, form and multipart, and the same bytes as a Twilio form
# Seeds are the channel fixtures in tests/fixtures. Any panic, 5xx-class refusal or broken
# invariant fails the run and leaves the input in fuzz/artifacts/<target>/.
#
# Usage: bench/fuzz.sh [seconds-per-target] [rss-limit-MiB] [targets…]   (defaults: 60, 512, all)
#   FUZZ_ENGINE=libfuzzer  cargo-fuzz (libFuzzer, coverage-guided). Needs `cargo install cargo-fuzz`
#                          and nightly compiler flags; on a stable toolchain this script sets
#                          RUSTC_BOOTSTRAP=1 to allow them. Separate build in fuzz/target.
#   FUZZ_ENGINE=stable     (default) fuzz/src/bin/fuzz-loop.rs: a mutation loop without coverage
#                          feedback that builds on stable and reuses target/ (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
RSS=${2:-512}
shift $(( $# > 2 ? 2 : $# ))
TARGETS=("${@:-email instagram whatsapp cti}")
read -r -a TARGETS <<<"${TARGETS[*]}"
ENGINE=${FUZZ_ENGINE:-stable}

seeds() {
  case $1 in
    email) echo tests/fixtures/email ;;
    instagram) echo tests/fixtures/instagram ;;
    whatsapp) echo tests/fixtures/whatsapp ;;
    cti) echo tests/fixtures/phone ;;
    *) echo "unknown target $1" >&2; exit 2 ;;
  esac
}

if [ "$ENGINE" = libfuzzer ]; then
  command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is needed: RUSTC_BOOTSTRAP=1 cargo install cargo-fuzz" >&2; exit 1; }
  export RUSTC_BOOTSTRAP=1
  for t in "${TARGETS[@]}"; do
    corpus=fuzz/corpus/$t
    mkdir -p "$corpus"
    # libFuzzer reads seed files from a flat directory.
    find "$(seeds "$t")" -type f -exec cp {} "$corpus/" \;
    (cd fuzz && cargo fuzz run --features libfuzzer "$t" "corpus/$t" -- \
      -max_total_time="$SECS" -rss_limit_mb="$RSS" -max_len=65536 -print_final_stats=1)
  done
else
  (cd fuzz && CARGO_TARGET_DIR=../target cargo build -q --bin fuzz-loop)
  for t in "${TARGETS[@]}"; do
    target/debug/fuzz-loop "$t" --seconds "$SECS" --rss-mb "$RSS" "$(seeds "$t")"
  done
fi
