//! Parsing and classification of every fixture against expected.json, and of awkward mail:
//! legacy charsets, 8-bit headers, malformed MIME, no Message-ID, garbage.

use serde_json::Value;
use tanggap::email::classify::Class;
use tanggap::email::parse::{ParsedEmail, parse};

use super::fixture;

fn expected() -> Value {
    serde_json::from_slice(&fixture("expected.json")).expect("expected.json")
}

fn parsed(raw: &[u8]) -> ParsedEmail {
    parse(raw, "pemkot.example", "tanggap", 25 * 1024 * 1024).expect("parses")
}

#[test]
fn fixture_01_new_complaint() {
    let exp = &expected()["01_new_complaint.eml"];
    let m = parsed(&fixture("01_new_complaint.eml"));
    assert_eq!(m.from.as_str(), exp["from"]);
    assert_eq!(m.message_id.as_deref(), exp["message_id"].as_str());
    assert_eq!(m.subject, exp["subject"]);
    assert_eq!(m.class.is_auto(), exp["is_auto"].as_bool().unwrap());
    assert_eq!(m.attachments.len(), exp["attachments"].as_u64().unwrap() as usize);
    assert!(m.text.starts_with("Yth. Bapak/Ibu petugas"), "{}", m.text);
    assert!(
        m.text.ends_with("Terima kasih atas perhatiannya."),
        "signature stripped: {}",
        m.text
    );
    assert!(m.full_text.contains("RT 03/RW 07, Kel. Sukamaju"));
}

#[test]
fn fixture_02_reply_strips_wrapped_indonesian_attribution() {
    let exp = &expected()["02_reply_in_thread.eml"];
    let m = parsed(&fixture("02_reply_in_thread.eml"));
    assert!(
        m.text
            .starts_with(exp["stripped_body_must_start_with"].as_str().unwrap())
    );
    for bad in exp["stripped_body_must_not_contain"].as_array().unwrap() {
        assert!(!m.text.contains(bad.as_str().unwrap()), "{bad} in {}", m.text);
    }
    assert!(!m.text.contains("menulis:"));
    assert!(m.text.ends_with("Siti"), "{}", m.text);
    // In-Reply-To first, then References right-most first.
    assert_eq!(
        m.references[0],
        "tiket-2608130017.art-2.c41d9e7a@pengaduan.pemkot.example"
    );
    assert!(
        m.references
            .contains(&"CAJx7uJi3xPq0Rk9vWm2L5tZbN4yHs8d=Q1f@mail.example".to_string())
    );
    assert!(
        m.recipients
            .contains(&"pengaduan+t2608130017.k7q2@pemkot.example".to_string())
    );
    assert_eq!(
        tanggap::email::address::number_from_subject(&m.subject).as_deref(),
        exp["ticket_number"].as_str()
    );
    assert!(!m.class.is_auto());
}

#[test]
fn fixture_03_multipart_html_attachments_utf8_subject() {
    let exp = &expected()["03_multipart_html_attachment_utf8_subject.eml"];
    let m = parsed(&fixture("03_multipart_html_attachment_utf8_subject.eml"));
    assert_eq!(m.from.as_str(), exp["from"]);
    assert_eq!(m.from_name.as_deref(), exp["from_display_name"].as_str());
    assert_eq!(m.subject, exp["subject"]);
    assert_eq!(m.cc, vec![exp["cc"][0].as_str().unwrap().to_string()]);
    assert!(
        m.text.contains(exp["text_body_contains"].as_str().unwrap()),
        "{}",
        m.text
    );
    let html = m.html.as_deref().expect("html");
    assert!(
        html.contains(&format!("cid:{}", exp["html_has_cid"].as_str().unwrap())),
        "{html}"
    );
    assert!(!html.contains("<meta"), "sanitised: {html}");
    let want = exp["attachments"].as_array().unwrap();
    assert_eq!(m.attachments.len(), want.len());
    for (got, want) in m.attachments.iter().zip(want) {
        assert_eq!(got.filename, want["filename"]);
        assert_eq!(got.content_type, want["content_type"]);
        assert_eq!(got.inline, want["disposition"] == "inline");
        assert_eq!(got.content.len() as u64, want["size"].as_u64().unwrap());
        if let Some(cid) = want["content_id"].as_str() {
            assert_eq!(got.content_id.as_deref(), Some(cid));
        }
    }
}

#[test]
fn fixture_04_out_of_office_is_auto() {
    let exp = &expected()["04_auto_reply_out_of_office.eml"];
    let m = parsed(&fixture("04_auto_reply_out_of_office.eml"));
    match &m.class {
        Class::Auto { out_of_office, .. } => assert_eq!(*out_of_office, exp["is_out_of_office"].as_bool().unwrap()),
        other => panic!("expected auto, got {other:?}"),
    }
}

#[test]
fn fixture_05_bounce_names_our_mail() {
    let exp = &expected()["05_bounce_dsn.eml"];
    let m = parsed(&fixture("05_bounce_dsn.eml"));
    let Class::Bounce(b) = &m.class else {
        panic!("expected a bounce, got {:?}", m.class);
    };
    assert_eq!(
        b.original_ids,
        vec![exp["original_message_id"].as_str().unwrap().to_string()]
    );
    assert_eq!(b.recipient.as_deref(), exp["failed_recipient"].as_str());
    assert_eq!(b.status.as_deref(), exp["status"].as_str());
    assert_eq!(b.permanent, exp["permanent"].as_bool().unwrap());
}

#[test]
fn legacy_charsets_and_encoded_words() {
    let latin1: Vec<u8> = [
        &b"From: =?ISO-8859-1?Q?Jos=E9_Mart=EDn?= <jose@mail.example>\r\nTo: pengaduan@pemkot.example\r\n"[..],
        b"Subject: =?ISO-8859-1?Q?Caf=E9_ditutup?=\r\nMessage-ID: <l1@mail.example>\r\n",
        b"Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        b"Jalan di depan caf\xe9 rusak, \xb1 2 meter.\r\n",
    ]
    .concat();
    let m = parsed(&latin1);
    assert_eq!(m.from_name.as_deref(), Some("José Martín"));
    assert_eq!(m.subject, "Café ditutup");
    assert_eq!(m.text, "Jalan di depan café rusak, ± 2 meter.");

    let cp1252: Vec<u8> = [
        &b"From: warga@mail.example\r\nTo: pengaduan@pemkot.example\r\nSubject: =?windows-1252?Q?=93Lampu=94_mati?=\r\n"[..],
        b"Content-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
        b"Lampu jalan =93PJU=94 mati =96 sudah 3 hari =80 rugi.\r\n",
    ]
    .concat();
    let m = parsed(&cp1252);
    assert_eq!(m.subject, "\u{201c}Lampu\u{201d} mati");
    assert_eq!(
        m.text,
        "Lampu jalan \u{201c}PJU\u{201d} mati \u{2013} sudah 3 hari \u{20ac} rugi."
    );
}

#[test]
fn raw_8bit_utf8_headers() {
    let raw = "From: Dédé Ñoño <dede@mail.example>\r\nTo: pengaduan@pemkot.example\r\nSubject: Trotoar rusak — mohon dicek 🙏\r\n\r\nIsi.\r\n";
    let m = parsed(raw.as_bytes());
    assert_eq!(m.from_name.as_deref(), Some("Dédé Ñoño"));
    assert_eq!(m.subject, "Trotoar rusak — mohon dicek 🙏");
}

#[test]
fn malformed_mime_is_tolerated() {
    // A boundary that never closes, a part with broken base64, a header without a value.
    let raw = "From: warga@mail.example\r\nX-Broken:\r\nSubject: rusak\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nTeks masih terbaca.\r\n--b1\r\nContent-Type: image/png; name=\"a.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64###\r\n";
    let m = parsed(raw.as_bytes());
    assert!(m.text.contains("Teks masih terbaca."), "{}", m.text);
    assert_eq!(m.subject, "rusak");
}

#[test]
fn no_message_id_uses_a_hash_of_the_raw_message() {
    let raw = b"From: warga@mail.example\r\nSubject: tanpa id\r\n\r\nHalo.\r\n";
    let a = parsed(raw);
    assert!(a.message_id.is_none());
    assert!(a.key.starts_with("sha256:"));
    assert_eq!(a.key, parsed(raw).key);
}

#[test]
fn garbage_and_senderless_input_are_refused() {
    for raw in [
        &b""[..],
        b"   \r\n",
        b"\x00\x01\x02 binary junk",
        b"just some words\nwithout headers\n",
    ] {
        assert!(parse(raw, "pemkot.example", "tanggap", 1 << 20).is_err(), "{raw:?}");
    }
    let no_sender = b"Subject: siapa\r\n\r\nHalo.\r\n";
    assert!(parse(no_sender, "pemkot.example", "tanggap", 1 << 20).is_err());
}

#[test]
fn loops_and_auto_signals() {
    let ours = b"From: warga@mail.example\r\nX-Tanggap-Loop: tanggap\r\nSubject: x\r\n\r\nx\r\n";
    assert_eq!(parsed(ours).class, Class::Loop);
    let own_id =
        b"From: warga@mail.example\r\nMessage-ID: <tiket-1.art-2.abc@pemkot.example>\r\nSubject: x\r\n\r\nx\r\n";
    assert_eq!(parsed(own_id).class, Class::Loop);
    for header in [
        "Auto-Submitted: auto-generated",
        "Precedence: bulk",
        "X-Autoreply: yes",
        "List-Id: <warga.list.example>",
        "Return-Path: <>",
    ] {
        let raw = format!("From: warga@mail.example\r\n{header}\r\nSubject: x\r\n\r\nx\r\n");
        assert!(parsed(raw.as_bytes()).class.is_auto(), "{header}");
    }
    let no = b"From: warga@mail.example\r\nAuto-Submitted: no\r\nSubject: x\r\n\r\nx\r\n";
    assert_eq!(parsed(no).class, Class::Personal);
    let daemon = b"From: MAILER-DAEMON@mx.example\r\nSubject: x\r\n\r\nx\r\n";
    assert!(parsed(daemon).class.is_auto());
}
