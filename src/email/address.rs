//! Identifiers we put into mail and read back: normalised Message-IDs, our own outbound
//! Message-IDs, signed reply addresses `<local>+t<number>.<mac>@domain`, and the subject tag
//! `[Tiket#<number>]`.

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

use crate::tickets::numbering::looks_like_number;

/// Characters of the reply-address MAC (base32, 5 bits each: 40 bits).
const MAC_CHARS: usize = 8;
const BASE32: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// A Message-ID as stored and compared: without angle brackets, the domain lower-cased.
pub fn normalize_id(raw: &str) -> Option<String> {
    let s = raw.trim().trim_start_matches('<').trim_end_matches('>').trim();
    if s.is_empty() || s.len() > 500 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some(match s.rsplit_once('@') {
        Some((left, domain)) => format!("{left}@{}", domain.to_ascii_lowercase()),
        None => s.to_string(),
    })
}

/// A fresh Message-ID for an outbound mail on ticket `number` (no angle brackets).
pub fn new_outbound_id(number: &str, message_id: i64, domain: &str) -> String {
    let nonce: u64 = rand::thread_rng().r#gen();
    format!("tiket-{number}.art-{message_id}.{nonce:016x}@{domain}")
}

/// True for a Message-ID we minted (mail of ours coming back is a loop).
pub fn is_our_id(id: &str, domain: &str) -> bool {
    id.starts_with("tiket-") && id.rsplit_once('@').is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain))
}

fn mac(secret: &str, number: &str) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(b"tanggap-reply-address:");
    m.update(number.as_bytes());
    let digest = m.finalize().into_bytes();
    let mut bits: u64 = 0;
    for b in &digest[..5] {
        bits = (bits << 8) | u64::from(*b);
    }
    (0..MAC_CHARS)
        .rev()
        .map(|i| BASE32[((bits >> (i * 5)) & 31) as usize] as char)
        .collect()
}

/// Our reply address for ticket `number`: `<local>+t<number>.<mac>@<domain>`.
pub fn reply_address(from_address: &str, number: &str, secret: &str) -> Option<String> {
    if secret.is_empty() {
        return None;
    }
    let (local, domain) = from_address.rsplit_once('@')?;
    Some(format!("{local}+t{number}.{}@{domain}", mac(secret, number)))
}

/// The ticket number of a signed reply address of ours among `recipients`, if one verifies.
pub fn number_from_recipients<'a>(
    recipients: impl IntoIterator<Item = &'a String>,
    from_address: &str,
    secret: &str,
) -> Option<String> {
    if secret.is_empty() {
        return None;
    }
    let (our_local, our_domain) = from_address.rsplit_once('@')?;
    recipients.into_iter().find_map(|r| {
        let (local, domain) = r.rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(our_domain) {
            return None;
        }
        let (base, tag) = local.split_once('+')?;
        if !base.eq_ignore_ascii_case(our_local) {
            return None;
        }
        let (number, given) = tag
            .strip_prefix('t')
            .or_else(|| tag.strip_prefix('T'))?
            .split_once('.')?;
        if !looks_like_number(number) {
            return None;
        }
        let expected = mac(secret, number);
        crate::auth::constant_time_eq(expected.as_bytes(), given.to_ascii_lowercase().as_bytes())
            .then(|| number.to_string())
    })
}

/// The number in a `[Tiket#<number>]` subject tag (also `[Ticket#…]`, any case, spaces allowed).
pub fn number_from_subject(subject: &str) -> Option<String> {
    let lower = subject.to_ascii_lowercase();
    for hook in ["[tiket#", "[ticket#"] {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(hook) {
            let start = from + pos + hook.len();
            let rest = subject[start..].trim_start_matches([' ', ':']);
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            if rest[digits.len()..].trim_start().starts_with(']') && looks_like_number(&digits) {
                return Some(digits);
            }
            from = start;
        }
    }
    None
}

/// The subject tag we put on our mail.
pub fn subject_tag(number: &str) -> String {
    format!("[Tiket#{number}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_normalise() {
        assert_eq!(
            normalize_id(" <Abc.DEF@Mail.Example> ").as_deref(),
            Some("Abc.DEF@mail.example")
        );
        assert_eq!(normalize_id("<>"), None);
        assert_eq!(normalize_id("a b@c"), None);
        let id = new_outbound_id("2608130017", 9, "pemkot.example");
        assert!(id.starts_with("tiket-2608130017.art-9.") && is_our_id(&id, "PEMKOT.example"));
        assert!(!is_our_id("tiket-1@elsewhere.example", "pemkot.example"));
    }

    #[test]
    fn reply_addresses_verify_and_resist_forgery() {
        let secret = "0123456789abcdef-secret";
        let addr = reply_address("pengaduan@pemkot.example", "2608130017", secret).unwrap();
        assert!(addr.starts_with("pengaduan+t2608130017."));
        let got = number_from_recipients([&addr.to_uppercase()], "pengaduan@pemkot.example", secret);
        assert_eq!(got.as_deref(), Some("2608130017"));
        let forged = addr.replace("2608130017", "2608130018");
        assert_eq!(
            number_from_recipients([&forged], "pengaduan@pemkot.example", secret),
            None
        );
        assert_eq!(
            number_from_recipients([&addr], "pengaduan@pemkot.example", "another-secret-0000"),
            None
        );
        assert_eq!(number_from_recipients([&addr], "pengaduan@pemkot.example", ""), None);
        let other_domain = addr.replace("pemkot.example", "evil.example");
        assert_eq!(
            number_from_recipients([&other_domain], "pengaduan@pemkot.example", secret),
            None
        );
    }

    #[test]
    fn subject_tags() {
        assert_eq!(
            number_from_subject("Re: [Tiket#2608130017] Sampah").as_deref(),
            Some("2608130017")
        );
        assert_eq!(
            number_from_subject("AW: [ticket# 2608130017 ] x").as_deref(),
            Some("2608130017")
        );
        assert_eq!(number_from_subject("[Tiket#12] x"), None);
        assert_eq!(number_from_subject("Tiket 2608130017"), None);
        assert_eq!(
            number_from_subject("[Tiket#abc] [Tiket#2608130099]").as_deref(),
            Some("2608130099")
        );
    }
}
