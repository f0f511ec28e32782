//! Mail out over real SMTP to a sink on loopback: the acknowledgement (with a working status
//! link), agent replies threaded the way mail clients expect, the resolution notice, loop headers,
//! the per-address acknowledgement limit, permanent refusals visible on the message, and mail
//! staying queued while no SMTP server is configured.

use serde_json::json;

use super::sink::{SinkMail, SmtpSink};
use super::*;
use crate::each_backend;
use crate::helpers::{Backend, TestApp, events_of_kind, spawn_app_with};

async fn app_with_sink(backend: Backend) -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(backend, |s| email_settings(s, Some(&url))).await;
    (app, sink)
}

fn only_mail_to(sink: &SmtpSink, rcpt: &str) -> Vec<SinkMail> {
    sink.mails()
        .into_iter()
        .filter(|m| m.rcpt_to.iter().any(|r| r == rcpt))
        .collect()
}

fn assert_loop_headers(m: &SinkMail, auto_submitted: &str) {
    assert_eq!(
        m.header("Auto-Submitted").as_deref(),
        Some(auto_submitted),
        "{}",
        m.data
    );
    assert_eq!(m.header("X-Auto-Response-Suppress").as_deref(), Some("All"));
    assert_eq!(m.header("X-Tanggap-Loop").as_deref(), Some("tanggap"));
}

const SITI: &str = "siti.rahmawati@mail.example";

each_backend! {
    async fn acknowledgement_carries_a_working_status_link(backend) {
        let (app, sink) = app_with_sink(backend).await;
        let report = deliver_ok(&app, &fixture("01_new_complaint.eml")).await;
        let number = report["ticket_number"].as_str().unwrap().to_string();
        assert!(app.run_jobs().await >= 1);
        let mails = only_mail_to(&sink, SITI);
        assert_eq!(mails.len(), 1, "{:?}", sink.mails());
        let ack = &mails[0];
        assert_eq!(ack.mail_from, "pengaduan@pemkot.example");
        assert!(ack.subject().starts_with(&format!("[Tiket#{number}]")), "{}", ack.subject());
        assert_loop_headers(ack, "auto-replied");
        assert_eq!(ack.header("In-Reply-To").as_deref(), Some("<CAJx7uJi3xPq0Rk9vWm2L5tZbN4yHs8d=Q1f@mail.example>"));
        let text = ack.text();
        assert!(text.contains(&number) && text.contains("48 jam"), "{text}");
        let prefix = format!("https://pengaduan.pemkot.example/status/{number}?token=");
        let token = text
            .lines()
            .find_map(|l| l.trim().strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no status link in {text}"))
            .to_string();
        let (status, body) = app.get("", &format!("/api/v1/public/tickets/{number}?token={token}")).await;
        assert_eq!(status, 200, "the link in the mail opens the ticket: {body}");
        // The ack is visible on the ticket as sent.
        let t = app.ticket(report["ticket_id"].as_i64().unwrap()).await;
        let out = messages(&t).iter().find(|m| m["direction"] == "outbound").unwrap();
        assert_eq!(out["delivery_state"], "sent");
        // A duplicate delivery of the same mail sends nothing more.
        deliver_ok(&app, &fixture("01_new_complaint.eml")).await;
        app.run_jobs().await;
        assert_eq!(only_mail_to(&sink, SITI).len(), 1);
    }

    async fn agent_reply_threads_in_the_citizens_client_and_replies_come_back(backend) {
        let (app, sink) = app_with_sink(backend).await;
        let report = deliver_ok(&app, &fixture("01_new_complaint.eml")).await;
        let id = report["ticket_id"].as_i64().unwrap();
        let number = report["ticket_number"].as_str().unwrap().to_string();
        app.run_jobs().await;
        let (status, body) = app
            .post(&app.agent_token, &format!("/api/v1/tickets/{id}/messages"), &json!({ "kind": "reply", "body": "Truk dijadwalkan besok pagi." }))
            .await;
        assert_eq!(status, 201, "{body}");
        app.run_jobs().await;
        let mails = only_mail_to(&sink, SITI);
        assert_eq!(mails.len(), 2, "ack and reply");
        let reply = &mails[1];
        assert_eq!(reply.subject(), format!("Re: [Tiket#{number}] Sampah menumpuk di TPS Jl. Cempaka, sudah 5 hari tidak diangkut"));
        assert_loop_headers(reply, "auto-generated");
        let our_id = reply.header("Message-ID").unwrap();
        assert!(our_id.starts_with(&format!("<tiket-{number}.art-")) && our_id.ends_with("@pemkot.example>"), "{our_id}");
        assert_eq!(reply.header("In-Reply-To").as_deref(), Some("<CAJx7uJi3xPq0Rk9vWm2L5tZbN4yHs8d=Q1f@mail.example>"));
        let refs = reply.header("References").unwrap();
        assert!(refs.starts_with("<CAJx7uJi3xPq0Rk9vWm2L5tZbN4yHs8d=Q1f@mail.example>"), "{refs}");
        let reply_to = reply.header("Reply-To").unwrap();
        assert!(reply_to.contains(&format!("pengaduan+t{number}.")), "{reply_to}");
        let text = reply.text();
        assert!(text.starts_with("##- Mohon balas di atas baris ini -##") && text.contains("Truk dijadwalkan besok pagi."), "{text}");

        // The citizen answers the reply in a mail client: threads by In-Reply-To, quote stripped.
        let answer = format!(
            "From: Siti Rahmawati <{SITI}>\r\nTo: {reply_to}\r\nSubject: Re: {}\r\nMessage-ID: <siti-answer@mail.example>\r\nIn-Reply-To: {our_id}\r\nReferences: {refs} {our_id}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBaik, terima kasih.\r\n\r\nOn Fri, 14 Aug 2026 at 09:00, Layanan <pengaduan@pemkot.example> wrote:\r\n> {}\r\n",
            reply.subject(),
            text.lines().next().unwrap()
        );
        let back = deliver_ok(&app, answer.as_bytes()).await;
        assert_eq!((back["action"].as_str(), back["matched_by"].as_str()), (Some("appended"), Some("in_reply_to")), "{back}");
        let t = app.ticket(id).await;
        assert_eq!(messages(&t).last().unwrap()["text"], "Baik, terima kasih.");
        // Our own reply coming back is a duplicate; resent by a forwarder under a new
        // Message-ID it is recognised by our loop header and dropped.
        assert_eq!(deliver_ok(&app, reply.data.as_bytes()).await["action"], "duplicate");
        let forwarded = reply.data.replace(&format!("Message-ID: {our_id}"), "Message-ID: <fwd-1@robot.example>");
        assert_ne!(forwarded, reply.data);
        let looped = deliver_ok(&app, forwarded.as_bytes()).await;
        assert_eq!(looped["action"], "ignored", "{looped}");
        assert_eq!(app.ticket(id).await["messages"].as_array().unwrap().len(), messages(&t).len());
    }

    async fn resolution_notice_is_sent(backend) {
        let (app, sink) = app_with_sink(backend).await;
        let report = deliver_ok(&app, &fixture("01_new_complaint.eml")).await;
        let id = report["ticket_id"].as_i64().unwrap();
        let (status, body) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{id}"), &json!({ "status": "resolved" })).await;
        assert_eq!(status, 200, "{body}");
        app.run_jobs().await;
        let mails = only_mail_to(&sink, SITI);
        assert_eq!(mails.len(), 2, "ack and resolution");
        let notice = mails.iter().find(|m| m.subject().contains("Selesai:")).expect("resolution notice");
        assert_loop_headers(notice, "auto-generated");
        assert!(notice.text().contains("dibuka kembali"), "{}", notice.text());
    }

    async fn acknowledgements_are_rate_limited_per_address(backend) {
        let sink = SmtpSink::start().await;
        let url = sink.url();
        let app = spawn_app_with(backend, |s| {
            email_settings(s, Some(&url));
            s.email.acks_per_hour = 1;
        })
        .await;
        let a = deliver_ok(&app, &mail("Warga <warga@mail.example>", "Laporan satu", Some("r1@mail.example"), "", "Satu.")).await;
        let b = deliver_ok(&app, &mail("Warga <warga@mail.example>", "Laporan dua", Some("r2@mail.example"), "", "Dua.")).await;
        assert_eq!((a["acknowledged"].as_bool(), b["acknowledged"].as_bool()), (Some(true), Some(false)));
        assert_ne!(a["ticket_id"], b["ticket_id"], "a new mail without references is a new ticket");
        app.run_jobs().await;
        assert_eq!(only_mail_to(&sink, "warga@mail.example").len(), 1);
        let t = app.ticket(b["ticket_id"].as_i64().unwrap()).await;
        assert_eq!(events_of_kind(&t, "email_ack_suppressed").len(), 1);
        // An hour later the address gets acknowledgements again.
        app.clock.advance(chrono::Duration::minutes(61));
        let c = deliver_ok(&app, &mail("Warga <warga@mail.example>", "Laporan tiga", Some("r3@mail.example"), "", "Tiga.")).await;
        assert_eq!(c["acknowledged"], true);
    }

    async fn permanent_smtp_refusal_is_visible_on_the_message(backend) {
        let (app, sink) = app_with_sink(backend).await;
        sink.refuse(SITI);
        let report = deliver_ok(&app, &fixture("01_new_complaint.eml")).await;
        let id = report["ticket_id"].as_i64().unwrap();
        app.run_jobs().await;
        let t = app.ticket(id).await;
        let out = messages(&t).iter().find(|m| m["direction"] == "outbound").unwrap();
        assert_eq!(out["delivery_state"], "failed");
        let failed = events_of_kind(&t, "delivery_failed");
        assert_eq!(failed.len(), 1, "{t}");
        assert!(failed[0].1["error"].as_str().unwrap().contains("550"), "{:?}", failed[0]);
        let (status, jobs) = app.get(&app.admin_token, "/api/v1/jobs?state=dead").await;
        assert_eq!(status, 200, "{jobs}");
        assert_eq!(jobs["items"].as_array().unwrap().len(), 1);
    }

    async fn without_smtp_mail_stays_queued_then_goes_out(backend) {
        let app = spawn_app_with(backend, |s| email_settings(s, None)).await;
        let report = deliver_ok(&app, &fixture("01_new_complaint.eml")).await;
        app.run_jobs().await;
        let t = app.ticket(report["ticket_id"].as_i64().unwrap()).await;
        let out = messages(&t).iter().find(|m| m["direction"] == "outbound").unwrap();
        assert_eq!(out["delivery_state"], "queued");
        let (_, jobs) = app.get(&app.admin_token, "/api/v1/jobs?state=pending").await;
        let job = &jobs["items"][0];
        assert!(job["last_error"].as_str().unwrap().contains("smtp_url"), "{job}");
    }
}
