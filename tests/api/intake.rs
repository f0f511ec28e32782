//! Intake, the one path from any channel into the store: duplicates (sequential and racing),
//! threading, contacts across channels, reopening and follow-up tickets, attachment limits.

use diesel::prelude::*;
use serde_json::json;
use tanggap::contacts::{Identity, IdentityKind};
use tanggap::db::schema::{attachments, messages};
use tanggap::intake::{InboundAttachment, InboundMessage, IntakeOutcome, ingest};
use tanggap::tickets::model::Channel;

use crate::helpers::{TestApp, events_of_kind};

fn phone(raw: &str) -> Identity {
    Identity::parse(IdentityKind::Phone, raw).expect("phone")
}

fn message(app: &TestApp, channel: Channel, external_id: &str, sender: Identity, text: &str) -> InboundMessage {
    InboundMessage {
        channel,
        external_id: Some(external_id.to_string()),
        sender,
        also_known_as: Vec::new(),
        display_name: Some("Siti Rahayu".into()),
        subject: None,
        text: text.to_string(),
        html: None,
        attachments: Vec::new(),
        ticket_ref: None,
        thread_key: None,
        metadata: None,
        received_at: app.ctx.clock.now(),
    }
}

async fn ingest_ok(app: &TestApp, msg: InboundMessage) -> IntakeOutcome {
    ingest(&app.ctx, msg).await.expect("ingest")
}

fn stored_messages(app: &TestApp, channel: &str, external_id: &str) -> i64 {
    let mut conn = app.ctx.db.read_conn().expect("conn");
    messages::table
        .filter(messages::channel.eq(channel))
        .filter(messages::external_id.eq(external_id))
        .count()
        .get_result(&mut *conn)
        .expect("count")
}

crate::both_backends! {
    async fn same_external_id_twice_changes_nothing(app) {
        let msg = message(&app, Channel::Whatsapp, "wamid.HBgM001", phone("081355550001"), "Jalan di depan rumah berlubang besar.");
        let first = ingest_ok(&app, msg.clone()).await;
        assert!(first.created_ticket && !first.duplicate);
        assert!(first.access_token.is_some());
        let before = app.ticket(first.ticket_id).await;

        app.clock.advance(chrono::Duration::minutes(1));
        let second = ingest_ok(&app, msg).await;
        assert!(second.duplicate, "{second:?}");
        assert!(!second.created_ticket);
        assert_eq!(second.ticket_id, first.ticket_id);
        assert_eq!(second.message_id, first.message_id);
        assert_eq!(second.ticket_number, first.ticket_number);
        assert_eq!(second.access_token, None);

        assert_eq!(stored_messages(&app, "whatsapp", "wamid.HBgM001"), 1);
        let after = app.ticket(first.ticket_id).await;
        assert_eq!(after["messages"].as_array().unwrap().len(), 1);
        assert_eq!(after["events"], before["events"]);
        assert_eq!(after["updated_at"], before["updated_at"]);

        // The same id on another channel is another message.
        let other = message(&app, Channel::Instagram, "wamid.HBgM001", Identity::parse(IdentityKind::Instagram, "17841400000000001").unwrap(), "Halo admin");
        let third = ingest_ok(&app, other).await;
        assert!(!third.duplicate);
        assert_ne!(third.message_id, first.message_id);
    }

    async fn racing_duplicates_store_one_message(app) {
        let msg = message(&app, Channel::Whatsapp, "wamid.RACE01", phone("081355550002"), "Sampah menumpuk di pasar.");
        let mut handles = Vec::new();
        for _ in 0..8 {
            let ctx = app.ctx.clone();
            let m = msg.clone();
            handles.push(tokio::spawn(async move { ingest(&ctx, m).await }));
        }
        let mut outcomes = Vec::new();
        for h in handles {
            outcomes.push(h.await.expect("task").expect("ingest"));
        }
        let first = &outcomes[0];
        for o in &outcomes {
            assert_eq!(o.ticket_id, first.ticket_id, "{outcomes:?}");
            assert_eq!(o.message_id, first.message_id, "{outcomes:?}");
            assert_eq!(o.contact_id, first.contact_id, "{outcomes:?}");
        }
        assert_eq!(outcomes.iter().filter(|o| !o.duplicate).count(), 1, "{outcomes:?}");
        assert_eq!(outcomes.iter().filter(|o| o.created_ticket).count(), 1, "{outcomes:?}");
        assert_eq!(stored_messages(&app, "whatsapp", "wamid.RACE01"), 1);
        let (_, list) = app.get(&app.agent_token, "/api/v1/tickets").await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
        let (_, contacts) = app.get(&app.agent_token, "/api/v1/contacts").await;
        assert_eq!(contacts["items"].as_array().unwrap().len(), 1, "{contacts}");
    }

    async fn a_burst_from_a_known_sender_opens_one_ticket(app) {
        // The sender is known (an earlier, closed conversation) but has no open ticket; a
        // burst of messages (text, photos) arrives at once and must not open several tickets.
        let sender = phone("081355550012");
        let old = ingest_ok(&app, message(&app, Channel::Whatsapp, "burst-0", sender.clone(), "Dulu")).await;
        for to in ["resolved", "closed"] {
            let (status, _) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{}", old.ticket_id), &json!({ "status": to })).await;
            assert_eq!(status, 200);
        }
        let mut handles = Vec::new();
        for i in 1..=6 {
            let ctx = app.ctx.clone();
            let m = message(&app, Channel::Whatsapp, &format!("burst-{i}"), sender.clone(), &format!("Bagian {i}"));
            handles.push(tokio::spawn(async move { ingest(&ctx, m).await }));
        }
        let mut outcomes = Vec::new();
        for h in handles {
            outcomes.push(h.await.expect("task").expect("ingest"));
        }
        let tickets: std::collections::HashSet<i64> = outcomes.iter().map(|o| o.ticket_id).collect();
        assert_eq!(tickets.len(), 1, "{outcomes:?}");
        assert_eq!(outcomes.iter().filter(|o| o.created_ticket).count(), 1, "{outcomes:?}");
        let new = app.ticket(*tickets.iter().next().unwrap()).await;
        assert_eq!(new["messages"].as_array().unwrap().len(), 6);
        assert_eq!(new["parent_ticket_id"], old.ticket_id);
    }

    async fn a_burst_from_a_new_sender_makes_one_contact_and_one_ticket(app) {
        // Nobody knows this number yet: the concurrent writes race to create its contact, and
        // the losers (a unique violation on the identity) run again and find the winner's.
        let sender = phone("081355550013");
        let mut handles = Vec::new();
        for i in 1..=6 {
            let ctx = app.ctx.clone();
            let m = message(&app, Channel::Whatsapp, &format!("new-burst-{i}"), sender.clone(), &format!("Bagian {i}"));
            handles.push(tokio::spawn(async move { ingest(&ctx, m).await }));
        }
        let mut outcomes = Vec::new();
        for h in handles {
            outcomes.push(h.await.expect("task").expect("ingest"));
        }
        let contacts: std::collections::HashSet<i64> = outcomes.iter().map(|o| o.contact_id).collect();
        let tickets: std::collections::HashSet<i64> = outcomes.iter().map(|o| o.ticket_id).collect();
        assert_eq!((contacts.len(), tickets.len()), (1, 1), "{outcomes:?}");
        assert_eq!(outcomes.iter().filter(|o| o.created_ticket).count(), 1, "{outcomes:?}");
        let (_, listed) = app.get(&app.agent_token, "/api/v1/contacts").await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
        let ticket = app.ticket(*tickets.iter().next().unwrap()).await;
        assert_eq!(ticket["messages"].as_array().unwrap().len(), 6, "{ticket}");
    }

    async fn an_older_open_ticket_wins_over_a_newer_closed_one(app) {
        // The citizen's open ticket on the channel takes the message even when a later ticket of
        // theirs there (recorded by an agent) is already closed.
        let sender = phone("081355550014");
        let open = ingest_ok(&app, message(&app, Channel::Whatsapp, "older-open-1", sender.clone(), "Jalan berlubang")).await;
        let (status, later) = app
            .post(
                &app.agent_token,
                "/api/v1/tickets",
                &json!({ "subject": "Pertanyaan lain", "body": "Sudah dijawab", "channel": "whatsapp",
                         "contact": { "name": "Warga", "phone": "081355550014" } }),
            )
            .await;
        assert_eq!(status, 201, "{later}");
        assert_eq!(later["contact_id"], open.contact_id, "{later}");
        for to in ["resolved", "closed"] {
            let (status, _) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{}", later["id"]), &json!({ "status": to })).await;
            assert_eq!(status, 200);
        }
        let next = ingest_ok(&app, message(&app, Channel::Whatsapp, "older-open-2", sender, "Masih berlubang")).await;
        assert_eq!(next.ticket_id, open.ticket_id);
        assert!(!next.created_ticket);
    }

    async fn follow_up_threads_into_the_open_ticket(app) {
        let sender = phone("081355550003");
        let a = ingest_ok(&app, message(&app, Channel::Whatsapp, "wa-1", sender.clone(), "Lampu jalan mati.\nSudah seminggu.")).await;
        assert!(a.created_ticket);
        let ticket = app.ticket(a.ticket_id).await;
        assert_eq!(ticket["subject"], "Lampu jalan mati.");
        assert_eq!(ticket["channel"], "whatsapp");
        assert_eq!(ticket["contact"]["name"], "Siti Rahayu");

        app.clock.advance(chrono::Duration::hours(2));
        let b = ingest_ok(&app, message(&app, Channel::Whatsapp, "wa-2", sender.clone(), "Ini fotonya.")).await;
        assert!(!b.created_ticket && !b.duplicate);
        assert_eq!(b.ticket_id, a.ticket_id);
        assert_ne!(b.message_id, a.message_id);
        assert_eq!(b.access_token, None);
        let ticket = app.ticket(a.ticket_id).await;
        let texts: Vec<&str> = ticket["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
        assert_eq!(texts, ["Lampu jalan mati.\nSudah seminggu.", "Ini fotonya."]);

        // A ticket waiting on the citizen goes back to open when the citizen writes.
        let (status, _) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{}", a.ticket_id), &json!({ "status": "pending" })).await;
        assert_eq!(status, 200);
        let c = ingest_ok(&app, message(&app, Channel::Whatsapp, "wa-3", sender, "Masih mati.")).await;
        assert_eq!(c.ticket_id, a.ticket_id);
        let ticket = app.ticket(a.ticket_id).await;
        assert_eq!(ticket["status"], "open");
        assert_eq!(events_of_kind(&ticket, "status_changed").last().unwrap(), &(json!("pending"), json!("open")));
    }

    async fn explicit_ticket_reference_wins(app) {
        let created = app.create_ticket("Sungai tercemar", "081355550010").await;
        let mut msg = message(&app, Channel::Email, "<ref-1@mail.example>", Identity::parse(IdentityKind::Email, "warga@mail.example").unwrap(), "Tambahan informasi");
        msg.ticket_ref = Some(created["number"].as_str().unwrap().to_string());
        let out = ingest_ok(&app, msg).await;
        assert_eq!(out.ticket_id, created["id"].as_i64().unwrap());
        assert!(!out.created_ticket);
    }

    async fn another_channel_opens_a_new_ticket_for_the_same_contact(app) {
        let sender = phone("0813-5555-0004");
        let a = ingest_ok(&app, message(&app, Channel::Phone, "call-1", sender.clone(), "Keluhan via telepon")).await;
        let b = ingest_ok(&app, message(&app, Channel::Whatsapp, "wa-4", phone("+62 813 5555 0004"), "Keluhan via WhatsApp")).await;
        assert!(a.created_ticket && b.created_ticket);
        assert_ne!(a.ticket_id, b.ticket_id);
        assert_eq!(a.contact_id, b.contact_id);
        let (_, contact) = app.get(&app.agent_token, &format!("/api/v1/contacts/{}", a.contact_id)).await;
        assert_eq!(contact["identities"], json!([{ "kind": "phone", "value": "+6281355550004" }]));
        assert_eq!(contact["tickets"].as_array().unwrap().len(), 2, "{contact}");

        // Someone else on the same channel gets a ticket (and contact) of their own.
        let c = ingest_ok(&app, message(&app, Channel::Whatsapp, "wa-5", phone("081355550005"), "Saya juga")).await;
        assert!(c.created_ticket);
        assert_ne!(c.contact_id, a.contact_id);
        assert_ne!(c.ticket_id, b.ticket_id);
    }

    async fn message_within_window_reopens_resolved_ticket(app) {
        let sender = phone("081355550006");
        let a = ingest_ok(&app, message(&app, Channel::Whatsapp, "wa-6", sender.clone(), "Got mampet")).await;
        let (status, body) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{}", a.ticket_id), &json!({ "status": "resolved" })).await;
        assert_eq!(status, 200, "{body}");

        app.clock.advance(chrono::Duration::hours(167));
        let b = ingest_ok(&app, message(&app, Channel::Whatsapp, "wa-7", sender, "Mampet lagi")).await;
        assert!(b.reopened, "{b:?}");
        assert!(!b.created_ticket);
        assert_eq!(b.ticket_id, a.ticket_id);
        let ticket = app.ticket(a.ticket_id).await;
        assert_eq!(ticket["status"], "open");
        assert!(ticket["resolved_at"].is_null(), "{ticket}");
        let reopened: Vec<_> = ticket["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "reopened").collect();
        assert_eq!(reopened.len(), 1, "{ticket}");
        assert_eq!(reopened[0]["before"], "resolved");
        assert_eq!(reopened[0]["after"], "open");
        assert_eq!(reopened[0]["actor_kind"], "contact");
    }

    async fn message_after_window_opens_linked_ticket(app) {
        let sender = phone("081355550007");
        let a = ingest_ok(&app, message(&app, Channel::Whatsapp, "wa-8", sender.clone(), "Pohon rawan tumbang")).await;
        let (status, _) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{}", a.ticket_id), &json!({ "status": "resolved" })).await;
        assert_eq!(status, 200);

        let window = i64::from(app.ctx.settings.tickets.reopen_window_hours);
        assert_eq!(window, 168);
        app.clock.advance(chrono::Duration::hours(window + 1));
        let b = ingest_ok(&app, message(&app, Channel::Whatsapp, "wa-9", sender.clone(), "Pohon lain juga rawan")).await;
        assert!(b.created_ticket && !b.reopened, "{b:?}");
        assert_ne!(b.ticket_id, a.ticket_id);
        assert_eq!(b.contact_id, a.contact_id);
        assert!(b.access_token.is_some());

        let old = app.ticket(a.ticket_id).await;
        assert_eq!(old["status"], "closed");
        assert_eq!(events_of_kind(&old, "auto_closed"), vec![(json!("resolved"), json!("closed"))]);
        assert_eq!(old["messages"].as_array().unwrap().len(), 1);
        let new = app.ticket(b.ticket_id).await;
        assert_eq!(new["status"], "new");
        assert_eq!(new["parent_ticket_id"], a.ticket_id);
        assert_eq!(events_of_kind(&new, "linked").len(), 1);

        // Later messages thread into the new ticket, not the closed one.
        let c = ingest_ok(&app, message(&app, Channel::Whatsapp, "wa-10", sender, "Mohon segera")).await;
        assert_eq!(c.ticket_id, b.ticket_id);
    }

    async fn message_to_a_closed_ticket_opens_a_linked_one(app) {
        let sender = phone("081355550008");
        let a = ingest_ok(&app, message(&app, Channel::Whatsapp, "wa-11", sender.clone(), "Air mati")).await;
        for to in ["resolved", "closed"] {
            let (status, _) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{}", a.ticket_id), &json!({ "status": to })).await;
            assert_eq!(status, 200);
        }
        let b = ingest_ok(&app, message(&app, Channel::Whatsapp, "wa-12", sender, "Air mati lagi")).await;
        assert!(b.created_ticket);
        assert_ne!(b.ticket_id, a.ticket_id);
        assert_eq!(app.ticket(b.ticket_id).await["parent_ticket_id"], a.ticket_id);
        let old = app.ticket(a.ticket_id).await;
        assert_eq!(old["status"], "closed");
        assert_eq!(old["messages"].as_array().unwrap().len(), 1);
    }

    async fn message_after_auto_close_opens_linked_ticket(app) {
        // The worker's housekeeping closes resolved tickets past the window before the citizen
        // writes again; the follow-up is still linked to the old ticket.
        let sender = phone("081355550013");
        let a = ingest_ok(&app, message(&app, Channel::Whatsapp, "wa-13", sender.clone(), "Trotoar ambles")).await;
        let (status, _) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{}", a.ticket_id), &json!({ "status": "resolved" })).await;
        assert_eq!(status, 200);
        assert_eq!(tanggap::tickets::service::auto_close(&app.ctx).await.expect("auto close"), 0, "still within the window");
        app.clock.advance(chrono::Duration::hours(169));
        assert_eq!(tanggap::tickets::service::auto_close(&app.ctx).await.expect("auto close"), 1);
        let old = app.ticket(a.ticket_id).await;
        assert_eq!(old["status"], "closed");
        assert_eq!(events_of_kind(&old, "auto_closed"), vec![(json!("resolved"), json!("closed"))]);

        let b = ingest_ok(&app, message(&app, Channel::Whatsapp, "wa-14", sender, "Ambles lagi")).await;
        assert!(b.created_ticket && !b.reopened, "{b:?}");
        assert_eq!(app.ticket(b.ticket_id).await["parent_ticket_id"], a.ticket_id);
    }

    async fn invalid_inbound_is_refused(app) {
        let mut msg = message(&app, Channel::Whatsapp, "wa-empty", phone("081355550009"), "   ");
        let err = ingest(&app.ctx, msg.clone()).await.unwrap_err();
        assert_eq!(err.code(), "validation_failed");
        msg.text = "ok".into();
        msg.external_id = Some(String::new());
        let err = ingest(&app.ctx, msg).await.unwrap_err();
        assert_eq!(err.code(), "validation_failed");
        let (_, list) = app.get(&app.agent_token, "/api/v1/tickets").await;
        assert!(list["items"].as_array().unwrap().is_empty());
    }

    async fn oversized_attachment_is_recorded_without_content(app, |s| s.tickets.max_attachment_bytes = 1024) {
        let mut msg = message(&app, Channel::Whatsapp, "wa-att", phone("081355550011"), "Foto kerusakan");
        msg.attachments = vec![
            InboundAttachment { filename: "kecil.jpg".into(), content_type: "image/jpeg".into(), content: vec![7u8; 1000], source_url: None },
            InboundAttachment { filename: "besar.jpg".into(), content_type: "image/jpeg".into(), content: vec![9u8; 2048], source_url: None },
        ];
        let out = ingest_ok(&app, msg).await;

        let ticket = app.ticket(out.ticket_id).await;
        let atts = ticket["messages"][0]["attachments"].as_array().unwrap().clone();
        assert_eq!(atts.len(), 2, "{ticket}");
        assert_eq!(atts[0]["filename"], "kecil.jpg");
        assert_eq!(atts[0]["size_bytes"], 1000);
        assert_eq!(atts[1]["filename"], "besar.jpg");
        assert_eq!(atts[1]["size_bytes"], 2048);

        let events: Vec<_> = ticket["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "attachment_not_stored").cloned().collect();
        assert_eq!(events.len(), 1, "{ticket}");
        assert_eq!(events[0]["after"]["filename"], "besar.jpg");
        assert_eq!(events[0]["after"]["limit_bytes"], 1024);

        let mut conn = app.ctx.db.read_conn().expect("conn");
        let stored: Vec<(String, Option<Vec<u8>>)> = attachments::table
            .order(attachments::id.asc())
            .select((attachments::filename, attachments::content))
            .load(&mut *conn)
            .expect("attachments");
        assert_eq!(stored.len(), 2);
        assert_eq!(stored[0], ("kecil.jpg".to_string(), Some(vec![7u8; 1000])));
        assert_eq!(stored[1], ("besar.jpg".to_string(), None));
    }
}
