//! One RFC 5322 message in, one [`ParsedEmail`] out (owned, so parsing happens before the write
//! transaction). mail-parser does the MIME work: RFC 2047 words, charsets, RFC 2231 names,
//! multipart/alternative. Broken or missing headers are tolerated; only input with no header
//! section or no sender address at all is refused as "not a mail message".

use mail_parser::{Address, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use super::address::normalize_id;
use super::classify::{Class, classify};
use super::quote;
use crate::contacts::Email;
use crate::error::AppError;

#[derive(Clone, Debug)]
pub struct EmailAttachment {
    pub filename: String,
    pub content_type: String,
    pub inline: bool,
    pub content_id: Option<String>,
    pub size: usize,
    /// Empty when the mail was over the size limit.
    pub content: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct ParsedEmail {
    /// Normalised Message-ID, if the mail had a usable one.
    pub message_id: Option<String>,
    /// The dedupe key: the Message-ID, else `sha256:<hex of the raw message>`.
    pub key: String,
    pub from: Email,
    pub from_name: Option<String>,
    pub subject: String,
    /// In-Reply-To then References, right-most first, normalised.
    pub references: Vec<String>,
    /// To, Cc, Delivered-To, X-Original-To (lower-cased), for signed reply addresses.
    pub recipients: Vec<String>,
    pub cc: Vec<String>,
    /// The whole text body.
    pub full_text: String,
    /// The display text: quotes and signature stripped.
    pub text: String,
    /// Sanitised HTML, when the mail had an HTML part.
    pub html: Option<String>,
    pub attachments: Vec<EmailAttachment>,
    pub class: Class,
    /// Size of the raw message.
    pub size: usize,
    /// The raw message to keep: all of it, or only its header section when over the size limit.
    pub raw_kept: Vec<u8>,
    pub over_limit: bool,
}

impl ParsedEmail {
    /// A short stand-in for the Message-ID in logs (which can carry names and addresses).
    pub fn log_id(&self) -> String {
        hex::encode(&Sha256::digest(self.key.as_bytes())[..6])
    }
}

/// A refusal: the input is not a mail message.
fn not_mail(why: &str) -> AppError {
    AppError::BadRequest(format!("not an e-mail message: {why}"))
}

fn addresses(a: Option<&Address>) -> Vec<(Option<String>, String)> {
    a.map(|a| {
        a.iter()
            .filter_map(|addr| {
                let email = addr.address()?.trim().to_ascii_lowercase();
                Some((
                    addr.name().map(|n| n.trim().to_string()).filter(|n| !n.is_empty()),
                    email,
                ))
            })
            .collect()
    })
    .unwrap_or_default()
}

/// True when the input starts like a header section (`Name: value`, or an mbox `From ` line).
fn looks_like_headers(raw: &[u8]) -> bool {
    let first = raw.split(|b| *b == b'\n').next().unwrap_or_default();
    if first.starts_with(b"From ") {
        return true;
    }
    match first.iter().position(|b| *b == b':') {
        Some(colon) if colon > 0 => first[..colon].iter().all(|b| b.is_ascii_graphic() && *b != b':'),
        _ => false,
    }
}

fn header_section(raw: &[u8]) -> &[u8] {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2))
        .unwrap_or(raw.len());
    &raw[..end]
}

fn sanitize_html(html: &str) -> String {
    let mut schemes = ammonia::Builder::default().clone_url_schemes();
    schemes.insert("cid");
    ammonia::Builder::default().url_schemes(schemes).clean(html).to_string()
}

/// Parses `raw`. `max_bytes` is `email.max_message_bytes`.
pub fn parse(raw: &[u8], our_domain: &str, loop_id: &str, max_bytes: u64) -> Result<ParsedEmail, AppError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(not_mail("the message is empty"));
    }
    if !looks_like_headers(raw) {
        return Err(not_mail("it does not start with a header section"));
    }
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| not_mail("it cannot be parsed"))?;
    let from_list = addresses(msg.from());
    let sender_list = addresses(msg.sender());
    let (from_name, from_addr) = from_list
        .into_iter()
        .chain(sender_list)
        .chain(msg.return_address().map(|a| (None, a.trim().to_ascii_lowercase())))
        .find(|(_, a)| Email::parse(a).is_ok())
        .ok_or_else(|| not_mail("it has no sender address (From, Sender or Return-Path)"))?;
    let from = Email::parse(&from_addr).map_err(|e| not_mail(&e))?;
    let message_id = msg.message_id().and_then(normalize_id);
    let key = match &message_id {
        Some(id) => id.clone(),
        None => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    };
    let subject = msg.subject().unwrap_or("").trim().to_string();

    let mut references = Vec::new();
    for v in [msg.in_reply_to(), msg.references()] {
        let ids: Vec<String> = match v {
            mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
            mail_parser::HeaderValue::TextList(l) => l.iter().map(|s| s.to_string()).collect(),
            _ => Vec::new(),
        };
        for id in ids.iter().rev().filter_map(|s| normalize_id(s)) {
            if !references.contains(&id) {
                references.push(id);
            }
        }
    }

    let to = addresses(msg.to());
    let cc: Vec<String> = addresses(msg.cc()).into_iter().map(|(_, a)| a).collect();
    let mut recipients: Vec<String> = to.into_iter().map(|(_, a)| a).chain(cc.iter().cloned()).collect();
    for name in ["Delivered-To", "X-Original-To", "Envelope-To"] {
        for h in msg.headers().iter().filter(|h| h.name().eq_ignore_ascii_case(name)) {
            if let Some(t) = h.value().as_text() {
                recipients.push(t.trim().trim_matches(['<', '>']).to_ascii_lowercase());
            }
        }
    }

    let full_text = msg
        .text_bodies()
        .filter_map(|p| match &p.body {
            PartType::Text(t) => Some(t.as_ref()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let full_text = if full_text.trim().is_empty() {
        // HTML-only mail: mail-parser's text rendering of the HTML.
        msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default()
    } else {
        full_text
    };
    let html = msg
        .html_bodies()
        .find_map(|p| match &p.body {
            PartType::Html(h) => Some(sanitize_html(h)),
            _ => None,
        })
        .filter(|h| !h.trim().is_empty());

    let over_limit = raw.len() as u64 > max_bytes;
    let mut attachments = Vec::new();
    for (i, part) in msg.attachments().enumerate() {
        let content_type = part
            .content_type()
            .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("octet-stream")).to_ascii_lowercase())
            .unwrap_or_else(|| "application/octet-stream".into());
        let filename = part
            .attachment_name()
            .map(|n| n.trim().replace(['/', '\\', '\0'], "_"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| match part.body {
                PartType::Message(_) => format!("pesan-{}.eml", i + 1),
                _ => format!("lampiran-{}", i + 1),
            });
        let inline = part
            .content_disposition()
            .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline"))
            || (part.content_disposition().is_none() && part.content_id().is_some());
        attachments.push(EmailAttachment {
            filename,
            content_type,
            inline,
            content_id: part.content_id().map(|c| c.trim_matches(['<', '>']).to_string()),
            size: part.contents().len(),
            content: if over_limit {
                Vec::new()
            } else {
                part.contents().to_vec()
            },
        });
    }

    let class = classify(&msg, Some(from.as_str()), our_domain, loop_id);
    let text = quote::strip(&full_text);
    Ok(ParsedEmail {
        message_id,
        key,
        from,
        from_name,
        subject,
        references,
        recipients,
        cc,
        full_text,
        text,
        html,
        attachments,
        class,
        size: raw.len(),
        raw_kept: if over_limit {
            header_section(raw).to_vec()
        } else {
            raw.to_vec()
        },
        over_limit,
    })
}
