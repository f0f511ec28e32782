//! One function per fuzz target, each feeding arbitrary bytes to a parser that reads untrusted
//! input and checking what must hold for any input: no panic, and a refusal is a client error
//! (4xx), never a 5xx. Each returns whether the input was accepted, so a driver can tell how much
//! of what it generates gets past the first checks. Driven by libFuzzer (`cargo fuzz run <target>`, fuzz_targets/) or, on a
//! stable toolchain, by the mutation loop in src/bin/fuzz-loop.rs.

use actix_web::ResponseError;
use chrono::{TimeZone, Utc};
use tanggap::error::AppError;

/// A target: takes any bytes, returns whether they were accepted.
pub type Target = fn(&[u8]) -> bool;

/// The targets by name, for the stable driver.
pub const TARGETS: &[(&str, Target)] = &[
    ("email", email),
    ("instagram", instagram),
    ("whatsapp", whatsapp),
    ("cti", cti),
];

fn client_error(what: &str, e: &AppError) {
    let status = e.status_code();
    assert!(
        status.is_client_error(),
        "{what}: refused with {status}, not a 4xx: {e:?}"
    );
}

/// The e-mail path (`email::parse::parse`: MIME, headers, classification, quote stripping, HTML
/// sanitising), with a small size limit so the over-limit branch is reached too.
pub fn email(data: &[u8]) -> bool {
    match tanggap::email::parse::parse(data, "pengaduan.example.go.id", "tanggap", 16 * 1024) {
        Ok(mail) => {
            assert!(!mail.key.is_empty(), "a stored mail needs a dedupe key");
            assert_eq!(mail.size, data.len());
            assert!(mail.raw_kept.len() <= data.len());
            true
        }
        Err(e) => {
            client_error("email", &e);
            false
        }
    }
}

fn at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap()
}

/// Instagram webhook bodies (`channels::meta::instagram::parse`).
pub fn instagram(data: &[u8]) -> bool {
    // Bad bodies are a recorded failure (Err), never a panic.
    tanggap::channels::meta::instagram::parse(data, "17841400000000001", at()).is_ok_and(|e| !e.is_empty())
}

/// WhatsApp Cloud API webhook bodies (`channels::meta::whatsapp::parse`).
pub fn whatsapp(data: &[u8]) -> bool {
    tanggap::channels::meta::whatsapp::parse(data, "100000000000020", "https://graph.facebook.com/v23.0", at())
        .is_ok_and(|e| !e.is_empty())
}

/// Generic CTI events in all three encodings the endpoint takes (`phone::cti::parse`), and the
/// same bytes as a Twilio form (`phone::twilio::params`, `to_events`).
pub fn cti(data: &[u8]) -> bool {
    use tanggap::phone::cti::{Format, parse};
    // A multipart body names its boundary on its first line.
    let boundary = data
        .split(|b| *b == b'\r' || *b == b'\n')
        .next()
        .and_then(|l| l.strip_prefix(b"--"))
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_else(|| "x".into());
    let mut accepted = false;
    for format in [Format::Json, Format::Form, Format::Multipart(boundary)] {
        match parse(format, data) {
            Ok(_) => accepted = true,
            Err(e) => client_error("cti", &e),
        }
    }
    let params = tanggap::phone::twilio::params(data);
    match tanggap::phone::twilio::to_events(&params) {
        Ok(events) => accepted |= !events.is_empty(),
        Err(e) => client_error("twilio", &e),
    }
    accepted
}
