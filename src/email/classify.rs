//! Auto-replies, bounces and loops: mail that must never open a ticket, trigger an
//! acknowledgement or reopen anything. The signals are the union of what Zammad, RT, osTicket and
//! FreeScout check (see docs/email.md).

use mail_parser::{HeaderValue, Message, MimeHeaders};

use super::address::normalize_id;

/// What kind of mail this is, for intake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Class {
    /// A person wrote it.
    Personal,
    /// Machine-generated; `reason` names the first signal found.
    Auto { reason: String, out_of_office: bool },
    /// A delivery status notification about mail we sent.
    Bounce(Bounce),
    /// Our own mail came back (our loop header or one of our Message-IDs).
    Loop,
}

impl Class {
    pub fn is_auto(&self) -> bool {
        !matches!(self, Class::Personal)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bounce {
    /// Message-IDs of the returned mail (normalised).
    pub original_ids: Vec<String>,
    pub recipient: Option<String>,
    /// The DSN status, e.g. `5.1.1`.
    pub status: Option<String>,
    pub permanent: bool,
}

const AUTO_LOCALS: &[&str] = &[
    "mailer-daemon",
    "postmaster",
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
];
const PRESENCE_HEADERS: &[&str] = &[
    "X-Autoreply",
    "X-Autorespond",
    "X-Autoresponse",
    "X-AutoReply-From",
    "X-Mail-Autoreply",
    "X-Auto-Response-Suppress",
    "List-Id",
    "List-Unsubscribe",
];
const OOO_SUBJECTS: &[&str] = &[
    "automatic reply:",
    "balasan otomatis:",
    "out of office",
    "auto:",
    "autoreply:",
    "di luar kantor",
];

fn raw<'a>(msg: &'a Message, name: &'a str) -> Option<&'a str> {
    msg.header_raw(name).map(str::trim)
}

/// Classifies one parsed mail. `sender` is the lower-cased From address, if any.
pub fn classify(msg: &Message, sender: Option<&str>, our_domain: &str, loop_id: &str) -> Class {
    if raw(msg, "X-Tanggap-Loop").is_some_and(|v| v.eq_ignore_ascii_case(loop_id))
        || msg
            .message_id()
            .is_some_and(|id| super::address::is_our_id(id, our_domain))
    {
        return Class::Loop;
    }
    if let Some(b) = bounce(msg, sender) {
        return Class::Bounce(b);
    }
    let subject = msg.subject().unwrap_or("").to_lowercase();
    let ooo_subject = OOO_SUBJECTS.iter().any(|p| subject.starts_with(p));
    let auto_submitted = raw(msg, "Auto-Submitted").map(str::to_ascii_lowercase);
    let ooo = raw(msg, "X-MS-Exchange-Inbox-Rules-Loop").is_some()
        || auto_submitted
            .as_deref()
            .is_some_and(|v| v.contains("owner-email=") || v.contains("vacation"))
        || ooo_subject;
    let mut reason = None;
    if let Some(v) = auto_submitted.as_deref().filter(|v| !v.starts_with("no")) {
        reason = Some(format!("Auto-Submitted: {v}"));
    }
    for name in ["Precedence", "X-Precedence"] {
        if reason.is_none()
            && let Some(v) = raw(msg, name).map(str::to_ascii_lowercase)
            && ["bulk", "junk", "list", "auto_reply"].contains(&v.as_str())
        {
            reason = Some(format!("{name}: {v}"));
        }
    }
    if reason.is_none()
        && let Some(h) = PRESENCE_HEADERS.iter().find(|h| raw(msg, h).is_some())
    {
        reason = Some(format!("{h} present"));
    }
    if reason.is_none() && raw(msg, "Return-Path").is_some_and(|v| v.trim_matches([' ', '<', '>']).is_empty()) {
        reason = Some("empty Return-Path".into());
    }
    if reason.is_none()
        && let Some(local) = sender.and_then(|s| s.split('@').next())
        && AUTO_LOCALS.contains(&local)
    {
        reason = Some(format!("sender {local}@"));
    }
    if reason.is_none() && ooo_subject {
        reason = Some("out-of-office subject".into());
    }
    match reason {
        Some(reason) => Class::Auto {
            reason,
            out_of_office: ooo,
        },
        None => Class::Personal,
    }
}

fn is_report(msg: &Message) -> bool {
    msg.root_part().content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
    })
}

fn part_type(part: &mail_parser::MessagePart) -> String {
    part.content_type()
        .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("")).to_ascii_lowercase())
        .unwrap_or_default()
}

/// A DSN: `multipart/report; report-type=delivery-status`, or a mailer-daemon mail with a
/// `message/delivery-status` part.
fn bounce(msg: &Message, sender: Option<&str>) -> Option<Bounce> {
    let status_part = msg.parts.iter().find(|p| part_type(p) == "message/delivery-status");
    let daemon = sender
        .and_then(|s| s.split('@').next())
        .is_some_and(|l| l == "mailer-daemon" || l == "postmaster");
    let daemon_report = daemon && status_part.is_some();
    if !is_report(msg) && !daemon_report {
        return None;
    }
    let mut b = Bounce::default();
    if let Some(part) = status_part {
        let text = String::from_utf8_lossy(part.contents()).into_owned();
        for line in text.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "final-recipient" if b.recipient.is_none() => {
                    let addr = value.rsplit(';').next().unwrap_or(value).trim();
                    b.recipient = Some(addr.trim_matches(['<', '>']).to_ascii_lowercase());
                }
                "status" if b.status.is_none() => b.status = Some(value.to_string()),
                _ => {}
            }
        }
    }
    b.permanent = b.status.as_deref().is_some_and(|s| s.starts_with('5'));
    // The returned mail's Message-ID: in a text/rfc822-headers or message/rfc822 part.
    for part in &msg.parts {
        let ty = part_type(part);
        if let Some(inner) = part.message() {
            b.original_ids.extend(inner.message_id().and_then(normalize_id));
        } else if ty == "text/rfc822-headers" || ty == "message/rfc822-headers" || ty == "message/rfc822" {
            let text = String::from_utf8_lossy(part.contents()).into_owned();
            b.original_ids
                .extend(header_in_text(&text, "message-id").and_then(|v| normalize_id(&v)));
        }
    }
    // Fall back to what the DSN itself refers to.
    if b.original_ids.is_empty()
        && let HeaderValue::Text(id) = msg.in_reply_to()
    {
        b.original_ids.extend(normalize_id(id));
    }
    Some(b)
}

/// The value of header `name` in a block of header text (unfolded).
fn header_in_text(text: &str, name: &str) -> Option<String> {
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some((n, v)) = line.split_once(':')
            && n.trim().eq_ignore_ascii_case(name)
        {
            let mut value = v.trim().to_string();
            while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
                value.push(' ');
                value.push_str(next.trim());
                lines.next();
            }
            return Some(value);
        }
    }
    None
}
