//! Mail in through `POST /api/v1/channels/email/inbound`: authentication before parsing, every
//! fixture, each threading route (and the forgeries that must not thread), auto-replies, bounces,
//! duplicates and oversize mail.

use serde_json::Value;

use super::*;
use crate::both_backends;
use crate::helpers::{TestApp, events_of_kind};

async fn ticket_of(app: &TestApp, report: &Value) -> Value {
    app.ticket(report["ticket_id"].as_i64().expect("ticket id")).await
}

both_backends! {
    async fn endpoint_authenticates_before_parsing(app, |s| email_settings(s, None)) {
        let url = app.url("/api/v1/channels/email/inbound");
        let (status, _, body) = app.send(app.http.post(&url).body("garbage")).await;
        assert_eq!(status, 401, "{body}");
        let (status, _, body) = app.send(app.http.post(&url).bearer_auth("wrong-token-0123456789").body("x")).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["code"], "unauthorized");
        // With the token, garbage is a clear 400, not a 5xx, and nothing is stored.
        let (status, body) = post_mail(&app, b"\x00\x01 not a mail").await;
        assert_eq!(status, 400, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("not an e-mail message"), "{body}");
        assert_eq!(ticket_count(&app).await, 0);
    }

    async fn endpoint_is_off_without_a_token(app) {
        let (status, _, _) = app
            .send(app.http.post(app.url("/api/v1/channels/email/inbound")).bearer_auth("").body("x"))
            .await;
        assert_eq!(status, 404);
    }

    async fn new_complaint_opens_a_ticket_once(app, |s| email_settings(s, None)) {
        let raw = fixture("01_new_complaint.eml");
        let report = deliver_ok(&app, &raw).await;
        assert_eq!(report["action"], "created_ticket", "{report}");
        assert_eq!(report["acknowledged"], true);
        let t = ticket_of(&app, &report).await;
        assert_eq!(t["subject"], "Sampah menumpuk di TPS Jl. Cempaka, sudah 5 hari tidak diangkut");
        assert_eq!(t["channel"], "email");
        assert_eq!(t["contact"]["name"], "Siti Rahmawati");
        let first = &messages(&t)[0];
        assert!(first["text"].as_str().unwrap().ends_with("Terima kasih atas perhatiannya."), "{first}");
        // The full original is kept and viewable by agents.
        let id = first["id"].as_i64().unwrap();
        let r = app
            .http
            .get(app.url(&format!("/api/v1/channels/email/messages/{id}/raw")))
            .bearer_auth(&app.agent_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap().as_ref(), raw.as_slice());
        // The same mail again (an MTA retry) changes nothing.
        let again = deliver_ok(&app, &raw).await;
        assert_eq!(again["action"], "duplicate");
        assert_eq!(again["ticket_id"], report["ticket_id"]);
        assert_eq!(messages(&ticket_of(&app, &report).await).len(), 2, "the complaint and one ack");
        assert_eq!(ticket_count(&app).await, 1);
    }

    async fn fixture_reply_threads_by_in_reply_to_and_shows_new_text(app, |s| email_settings(s, None)) {
        let first = deliver_ok(&app, &fixture("01_new_complaint.eml")).await;
        let id = first["ticket_id"].as_i64().unwrap();
        seed_sent_mail(&app, id, Some("2608130017"), "tiket-2608130017.art-2.c41d9e7a@pengaduan.pemkot.example");
        let report = deliver_ok(&app, &fixture("02_reply_in_thread.eml")).await;
        assert_eq!(report["action"], "appended", "{report}");
        assert_eq!(report["ticket_number"], "2608130017");
        assert_eq!(report["matched_by"], "in_reply_to");
        let t = app.ticket(id).await;
        let last = messages(&t).iter().rev().find(|m| m["direction"] == "inbound").unwrap();
        let text = last["text"].as_str().unwrap();
        assert!(text.starts_with("Terima kasih atas tanggapannya."), "{text}");
        assert!(!text.contains("Mohon balas di atas baris ini") && !text.contains("> Yth. Ibu Siti"), "{text}");
        assert_eq!(ticket_count(&app).await, 1);
    }

    async fn citizen_message_id_threads_only_its_own_contact(app, |s| email_settings(s, None)) {
        let siti = deliver_ok(&app, &fixture("01_new_complaint.eml")).await;
        // Another citizen names Siti's Message-ID in References: that must not put them in her ticket.
        let intruder = mail(
            "Penyusup <penyusup@evil.example>",
            "Re: Sampah menumpuk",
            Some("intruder-1@evil.example"),
            "References: <CAJx7uJi3xPq0Rk9vWm2L5tZbN4yHs8d=Q1f@mail.example>\r\nIn-Reply-To: <CAJx7uJi3xPq0Rk9vWm2L5tZbN4yHs8d=Q1f@mail.example>\r\n",
            "Saya ikut menambahkan.",
        );
        let report = deliver_ok(&app, &intruder).await;
        assert_eq!(report["action"], "created_ticket", "{report}");
        assert_ne!(report["ticket_id"], siti["ticket_id"]);
        // Siti herself replying to her own first mail threads.
        let own = mail(
            "Siti Rahmawati <siti.rahmawati@mail.example>",
            "Re: Sampah menumpuk",
            Some("siti-2@mail.example"),
            "In-Reply-To: <CAJx7uJi3xPq0Rk9vWm2L5tZbN4yHs8d=Q1f@mail.example>\r\n",
            "Tambahan: ada foto.",
        );
        let report = deliver_ok(&app, &own).await;
        assert_eq!(report["action"], "appended", "{report}");
        assert_eq!(report["ticket_id"], siti["ticket_id"]);
    }

    async fn plus_address_and_subject_tag_routes(app, |s| email_settings(s, None)) {
        let first = deliver_ok(&app, &fixture("01_new_complaint.eml")).await;
        let number = first["ticket_number"].as_str().unwrap().to_string();
        // A signed reply address threads even without references or tag.
        let plus = tanggap::email::address::reply_address("pengaduan@pemkot.example", &number, ADDRESS_SECRET).unwrap();
        let raw = String::from_utf8(mail("Siti <siti.rahmawati@mail.example>", "foto", Some("p1@mail.example"), "", "Foto terlampir."))
            .unwrap()
            .replace(&format!("To: {OUR_FROM}"), &format!("To: <{plus}>"));
        let report = deliver_ok(&app, raw.as_bytes()).await;
        assert_eq!((report["action"].as_str(), report["matched_by"].as_str()), (Some("appended"), Some("plus_address")));
        // A forged MAC does not.
        let forged = raw.replace(&plus, &format!("pengaduan+t{number}.aaaaaaaa@pemkot.example")).replace("p1@mail", "p2@mail");
        let report = deliver_ok(&app, forged.as_bytes()).await;
        assert_eq!(report["action"], "created_ticket", "{report}");
        // The subject tag threads the ticket's own contact…
        let tagged = mail("Siti <siti.rahmawati@mail.example>", &format!("Re: [Tiket#{number}] Sampah"), Some("s1@mail.example"), "", "Masih belum.");
        let report = deliver_ok(&app, &tagged).await;
        assert_eq!((report["ticket_id"].clone(), report["matched_by"].as_str()), (first["ticket_id"].clone(), Some("subject_tag")));
        // …but a stranger who copies the tag gets a ticket of their own.
        let forged_tag = mail("Orang Lain <lain@mail.example>", &format!("[Tiket#{number}] tutup saja"), Some("x1@mail.example"), "", "Tutup tiket ini.");
        let report = deliver_ok(&app, &forged_tag).await;
        assert_eq!(report["action"], "created_ticket", "{report}");
        assert_ne!(report["ticket_id"], first["ticket_id"]);
        // A CC of the first mail may use the tag.
        let cc_mail = mail("Lurah <lurah@kelurahan.example>", "Laporan baru", Some("c0@mail.example"), "Cc: Siti <siti.rahmawati@mail.example>\r\n", "Laporan.");
        let cc_ticket = deliver_ok(&app, &cc_mail).await;
        let cc_number = cc_ticket["ticket_number"].as_str().unwrap();
        let from_cc = mail("Siti <siti.rahmawati@mail.example>", &format!("Re: [Tiket#{cc_number}] Laporan baru"), Some("c1@mail.example"), "", "Saya tambahkan.");
        let report = deliver_ok(&app, &from_cc).await;
        assert_eq!(report["ticket_id"], cc_ticket["ticket_id"], "{report}");
    }

    async fn out_of_office_never_opens_or_reopens(app, |s| email_settings(s, None)) {
        // Referring to nothing we know: ignored, no ticket.
        let report = deliver_ok(&app, &fixture("04_auto_reply_out_of_office.eml")).await;
        assert_eq!(report["action"], "ignored", "{report}");
        assert_eq!(ticket_count(&app).await, 0);
        assert_eq!(deliver_ok(&app, &fixture("04_auto_reply_out_of_office.eml")).await["action"], "duplicate");
    }

    async fn out_of_office_on_a_resolved_ticket_becomes_a_note(app, |s| email_settings(s, None)) {
        let first = deliver_ok(&app, &mail("Budi <budi.santoso@dinas.example>", "Lampu PJU mati di Jl. Merdeka", Some("b1@dinas.example"), "", "Lampu mati.")).await;
        let id = first["ticket_id"].as_i64().unwrap();
        seed_sent_mail(&app, id, Some("2608130031"), "tiket-2608130031.art-2.9be01f44@pengaduan.pemkot.example");
        let (status, body) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{id}"), &serde_json::json!({ "status": "resolved" })).await;
        assert_eq!(status, 200, "{body}");
        let jobs_before = app.ctx.db.read(|c| tanggap::jobs::repo::count_pending(c).map_err(tanggap::error::AppError::from)).await.unwrap();
        let report = deliver_ok(&app, &fixture("04_auto_reply_out_of_office.eml")).await;
        assert_eq!(report["action"], "auto_reply_noted", "{report}");
        let t = app.ticket(id).await;
        assert_eq!(t["status"], "resolved", "an auto-reply never reopens");
        let note = messages(&t).last().unwrap();
        assert_eq!(note["direction"], "note");
        assert!(note["text"].as_str().unwrap().contains("cuti sampai dengan Kamis"), "{note}");
        let jobs_after = app.ctx.db.read(|c| tanggap::jobs::repo::count_pending(c).map_err(tanggap::error::AppError::from)).await.unwrap();
        assert_eq!(jobs_before, jobs_after, "no acknowledgement for an auto-reply");
        assert_eq!(ticket_count(&app).await, 1);
    }

    async fn bounce_marks_our_mail_failed(app, |s| email_settings(s, None)) {
        let first = deliver_ok(&app, &mail("Dodi <dodi.kurniawan@mail.example>", "Drainase tersumbat di Gg. Mawar", Some("d1@mail.example"), "", "Got mampet.")).await;
        let id = first["ticket_id"].as_i64().unwrap();
        let sent = seed_sent_mail(&app, id, Some("2608130044"), "tiket-2608130044.art-3.51aa02cd@pengaduan.pemkot.example");
        let report = deliver_ok(&app, &fixture("05_bounce_dsn.eml")).await;
        assert_eq!(report["action"], "bounce_recorded", "{report}");
        assert_eq!(report["message_id"], sent);
        let t = app.ticket(id).await;
        let m = messages(&t).iter().find(|m| m["id"] == sent).unwrap();
        assert_eq!(m["delivery_state"], "failed");
        let failed = events_of_kind(&t, "delivery_failed");
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].1["status"], "5.1.1");
        assert_eq!(failed[0].1["recipient"], "dodi.kurniawan@mail.example");
        assert_eq!(t["status"], "new", "a bounce does not reopen or move the ticket");
        assert_eq!(ticket_count(&app).await, 1);
    }

    async fn html_and_attachments_are_stored(app, |s| email_settings(s, None)) {
        let report = deliver_ok(&app, &fixture("03_multipart_html_attachment_utf8_subject.eml")).await;
        let t = ticket_of(&app, &report).await;
        assert_eq!(t["subject"], "Jalan berlubang di Jl. Soekarno–Hatta (depan Halte Cibiru) — mohon segera diperbaiki 🙏");
        let m = &messages(&t)[0];
        let names: Vec<&str> = m["attachments"].as_array().unwrap().iter().map(|a| a["filename"].as_str().unwrap()).collect();
        assert_eq!(names, ["jalan_berlubang.png", "Surat Pengantar RT 05 – Jalan Rusak.pdf"]);
        assert!(m["html"].as_str().unwrap().contains("cid:foto-lubang-1@rt05.example"));
    }

    async fn thirty_megabyte_attachment_is_kept_with_a_note(app, |s| email_settings(s, None)) {
        use base64::Engine;
        let big = vec![0x5au8; 30 * 1024 * 1024];
        let b64 = base64::engine::general_purpose::STANDARD.encode(&big);
        let mut folded = String::with_capacity(b64.len() + b64.len() / 76 * 2);
        for chunk in b64.as_bytes().chunks(76) {
            folded.push_str(std::str::from_utf8(chunk).unwrap());
            folded.push_str("\r\n");
        }
        let raw = format!(
            "From: Warga <warga@mail.example>\r\nTo: pengaduan@pemkot.example\r\nSubject: Video jalan rusak\r\nMessage-ID: <big-1@mail.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n--xx\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVideo terlampir.\r\n--xx\r\nContent-Type: video/mp4; name=\"jalan.mp4\"\r\nContent-Disposition: attachment; filename=\"jalan.mp4\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{folded}--xx--\r\n"
        );
        let report = deliver_ok(&app, raw.as_bytes()).await;
        assert_eq!(report["action"], "created_ticket", "{report}");
        let t = ticket_of(&app, &report).await;
        let m = &messages(&t)[0];
        assert!(m["text"].as_str().unwrap().starts_with("Video terlampir."));
        assert!(m["text"].as_str().unwrap().contains("melebihi batas"), "{}", m["text"]);
        let note = events_of_kind(&t, "email_over_size_limit");
        assert_eq!(note.len(), 1);
        assert_eq!(note[0].1["attachments_not_stored"][0]["filename"], "jalan.mp4");
        assert_eq!(note[0].1["attachments_not_stored"][0]["size_bytes"], 30 * 1024 * 1024);
    }

    async fn mail_from_our_own_address_is_a_loop(app, |s| email_settings(s, None)) {
        let report = deliver_ok(&app, &mail(OUR_FROM, "Laporan diterima", Some("own-1@pemkot.example"), "", "Terima kasih.")).await;
        assert_eq!(report["action"], "ignored", "{report}");
        assert_eq!(ticket_count(&app).await, 0);
    }

    async fn mail_without_message_id_is_deduplicated_by_content(app, |s| email_settings(s, None)) {
        let raw = mail("Warga <warga@mail.example>", "Tanpa Message-ID", None, "", "Isi laporan.");
        let a = deliver_ok(&app, &raw).await;
        let b = deliver_ok(&app, &raw).await;
        assert_eq!((a["action"].as_str(), b["action"].as_str()), (Some("created_ticket"), Some("duplicate")));
        assert_eq!(a["ticket_id"], b["ticket_id"]);
    }
}
