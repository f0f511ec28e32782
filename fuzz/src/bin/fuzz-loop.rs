//! A fuzz driver that runs on a stable toolchain (libFuzzer via `cargo fuzz` needs nightly flags):
//! it mutates seed inputs (bit flips, interesting bytes and tokens, deleted, repeated and spliced
//! ranges, truncation; for JSON, half the time one node replaced, copied or removed) and feeds them to a target of `tanggap_fuzz` for a bounded time, with a cap
//! on resident memory. It is blind to coverage, so it finds less than libFuzzer per second; it is
//! what runs where no nightly toolchain is available (CI).
//!
//! `fuzz-loop <target> [--seconds 30] [--rss-mb 512] [--max-len 65536] [--seed N] <seed files or dirs>…`
//!
//! Exit 0: no failure. Exit 1: a panic (or a broken invariant) — the input is written to
//! `fuzz/artifacts/<target>/crash-<hash>` and can be replayed with `cargo fuzz run <target> <file>`
//! or `fuzz-loop <target> --seconds 0 <file>` — or the memory cap was exceeded.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::panic;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\\u0000",
    b"\\ud83d",
    b"\\",
    b"{}",
    b"[]",
    b"null",
    b"-1",
    b"99999999999999999999",
    b"1e999",
    b"\r\n",
    b"\r\n\r\n",
    b"\r\n--x\r\n",
    b"\r\n--x--\r\n",
    b"=?utf-8?B?",
    b"=?iso-8859-1?Q?=E9?=",
    b"Content-Type: multipart/mixed; boundary=x\r\n",
    b"Content-Type: text/html\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"Content-Disposition: form-data; name=\"",
    b"Message-ID: <",
    b"In-Reply-To: <",
    b"References: <a@b> <",
    b"From: \"Warga\" <",
    b"<script>",
    b"&",
    b"=",
    b"%",
    b"%ff",
    b"%00",
    b"user[]=",
    b"\xf0\x9f\x99\x8f",
    b"\xff\xfe",
    b"\xc0",
];

/// xorshift64*: deterministic from `--seed`, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, pool: &[Vec<u8>], max_len: usize) {
    for _ in 0..1 + rng.below(4) {
        let len = input.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = *b"\"{}[],:\\\n\r=&%-<>\0\x7f\x80\xff".get(rng.below(22)).unwrap_or(&0);
            }
            2 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(16)).min(len);
                input.drain(start..end);
            }
            3 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64)).min(len);
                let chunk = input[start..end].to_vec();
                let at = rng.below(len + 1);
                for _ in 0..1 + rng.below(4) {
                    input.splice(at..at, chunk.iter().copied());
                }
            }
            4 => {
                let at = rng.below(len + 1);
                let token = TOKENS[rng.below(TOKENS.len())];
                input.splice(at..at, token.iter().copied());
            }
            5 if !pool.is_empty() => {
                let other = &pool[rng.below(pool.len())];
                if !other.is_empty() {
                    let start = rng.below(other.len());
                    let end = (start + 1 + rng.below(256)).min(other.len());
                    let at = rng.below(len + 1);
                    input.splice(at..at, other[start..end].iter().copied());
                }
            }
            6 if len > 0 => input.truncate(rng.below(len)),
            _ => {
                let at = rng.below(len + 1);
                input.insert(at, rng.next() as u8);
            }
        }
    }
    input.truncate(max_len);
}

/// Structure-aware mutation of a JSON input: one node replaced by an edge value, a copy of
/// another node, or removed — so most inputs get past the JSON parser into the field checks.
fn mutate_json(rng: &mut Rng, input: &[u8]) -> Option<Vec<u8>> {
    use serde_json::{Value, json};
    let mut doc: Value = serde_json::from_slice(input).ok()?;
    let mut paths = Vec::new();
    fn walk(v: &Value, at: String, out: &mut Vec<String>) {
        out.push(at.clone());
        match v {
            Value::Object(m) => m
                .iter()
                .for_each(|(k, c)| walk(c, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out)),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, c)| walk(c, format!("{at}/{i}"), out)),
            _ => {}
        }
    }
    walk(&doc, String::new(), &mut paths);
    let target = paths[rng.below(paths.len())].clone();
    let donor = doc
        .pointer(&paths[rng.below(paths.len())])
        .cloned()
        .unwrap_or(Value::Null);
    let replacement = match rng.below(14) {
        0 => json!(""),
        1 => json!("x".repeat(1 + rng.below(5000))),
        2 => json!("\u{0}\u{7}\r\n\u{202e}"),
        3 => json!("\u{1F64F}ꦲꦏ꧀ꦱꦫ"),
        4 => json!(-1),
        5 => json!(u64::MAX),
        6 => json!(1.5e300),
        7 => json!(0),
        8 => Value::Null,
        9 => json!(true),
        10 => json!({}),
        11 => json!([]),
        12 => json!("12345678901234567890"),
        _ => donor,
    };
    if rng.below(6) == 0 && !target.is_empty() {
        let (parent, key) = target.rsplit_once('/')?;
        match doc.pointer_mut(parent)? {
            Value::Object(m) => {
                m.remove(&key.replace("~1", "/").replace("~0", "~"));
            }
            Value::Array(a) => {
                let i: usize = key.parse().ok()?;
                if rng.below(2) == 0 {
                    a.remove(i);
                } else {
                    let copy = a[i].clone();
                    a.insert(i, copy);
                }
            }
            _ => {}
        }
    } else {
        *doc.pointer_mut(&target)? = replacement;
    }
    serde_json::to_vec(&doc).ok()
}

fn rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}

fn collect(path: &Path, out: &mut Vec<Vec<u8>>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for p in entries {
            collect(&p, out)?;
        }
    } else {
        out.push(std::fs::read(path)?);
    }
    Ok(())
}

fn save(target: &str, input: &[u8]) -> PathBuf {
    let mut h = DefaultHasher::new();
    input.hash(&mut h);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts").join(target);
    let path = dir.join(format!("crash-{:016x}", h.finish()));
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, input)) {
        eprintln!("cannot write {}: {e}", path.display());
    }
    path
}

struct Args {
    target: String,
    seconds: u64,
    rss_mb: u64,
    max_len: usize,
    seed: u64,
    paths: Vec<PathBuf>,
}

fn args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        target: it
            .next()
            .ok_or("usage: fuzz-loop <target> [--seconds N] [--rss-mb N] [--max-len N] [--seed N] <seeds>…")?,
        seconds: 30,
        rss_mb: 512,
        max_len: 65536,
        seed: 0x7a6e_6767_6170,
        paths: Vec::new(),
    };
    while let Some(arg) = it.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--seconds" => a.seconds = num("--seconds")?,
            "--rss-mb" => a.rss_mb = num("--rss-mb")?,
            "--max-len" => a.max_len = num("--max-len")? as usize,
            "--seed" => a.seed = num("--seed")?.max(1),
            _ => a.paths.push(PathBuf::from(arg)),
        }
    }
    Ok(a)
}

fn main() -> ExitCode {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let Some(&(_, target)) = tanggap_fuzz::TARGETS.iter().find(|(n, _)| *n == a.target) else {
        let names: Vec<_> = tanggap_fuzz::TARGETS.iter().map(|(n, _)| *n).collect();
        eprintln!("unknown target {}; known: {}", a.target, names.join(", "));
        return ExitCode::from(2);
    };
    let mut seeds = Vec::new();
    for p in &a.paths {
        if let Err(e) = collect(p, &mut seeds) {
            eprintln!("cannot read seeds {}: {e}", p.display());
            return ExitCode::from(2);
        }
    }
    if seeds.is_empty() {
        seeds.push(Vec::new());
    }
    // Panics are caught and reported with their input; keep the default message short.
    panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));
    let mut accepted = 0u64;
    let mut run = |input: &[u8]| match panic::catch_unwind(panic::AssertUnwindSafe(|| target(input))) {
        Ok(ok) => {
            accepted += ok as u64;
            true
        }
        Err(_) => false,
    };
    for s in &seeds {
        if !run(s) {
            eprintln!("{}: a seed input fails: {}", a.target, save(&a.target, s).display());
            return ExitCode::FAILURE;
        }
    }
    let mut rng = Rng(a.seed);
    let mut pool = seeds.clone();
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    let start = Instant::now();
    let (mut execs, mut peak) = (0u64, rss_mb());
    while Instant::now() < deadline {
        for _ in 0..64 {
            let mut input = pool[rng.below(pool.len())].clone();
            match rng.below(2) {
                0 => match mutate_json(&mut rng, &input) {
                    Some(m) => input = m,
                    None => mutate(&mut rng, &mut input, &seeds, a.max_len),
                },
                _ => mutate(&mut rng, &mut input, &seeds, a.max_len),
            }
            execs += 1;
            if !run(&input) {
                eprintln!(
                    "{}: failing input after {execs} runs: {}",
                    a.target,
                    save(&a.target, &input).display()
                );
                return ExitCode::FAILURE;
            }
            // Keep some mutants, so mutations stack over generations (bounded pool).
            if rng.below(16) == 0 {
                if pool.len() < 512 {
                    pool.push(input);
                } else {
                    let i = seeds.len() + rng.below(pool.len() - seeds.len());
                    pool[i] = input;
                }
            }
        }
        peak = peak.max(rss_mb());
        if peak > a.rss_mb {
            eprintln!(
                "{}: resident memory {peak} MiB is over the {} MiB limit",
                a.target, a.rss_mb
            );
            return ExitCode::FAILURE;
        }
    }
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let accepted = accepted.saturating_sub(seeds.len() as u64);
    println!(
        "{}: {execs} inputs in {secs:.0} s ({:.0}/s) from {} seeds, {:.1} % accepted, no failure, peak RSS {peak} MiB",
        a.target,
        execs as f64 / secs,
        seeds.len(),
        100.0 * accepted as f64 / execs.max(1) as f64
    );
    ExitCode::SUCCESS
}
