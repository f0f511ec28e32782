//! Calls and tickets: the caller matched to a contact from any channel with their open tickets,
//! a ticket from a call in one action, attaching a call to an open ticket, recording URLs.

use serde_json::json;
use tanggap::contacts::{Identity, IdentityKind};
use tanggap::intake::{InboundMessage, ingest};
use tanggap::tickets::model::Channel;

use super::*;
use crate::helpers::events_of_kind;

crate::both_backends! {
    async fn callers_are_matched_across_channels_however_the_number_is_written(app, with_cti) {
        // The citizen first wrote on WhatsApp.
        let wa = ingest(&app.ctx, InboundMessage {
            channel: Channel::Whatsapp,
            external_id: Some("wamid.PHONE01".into()),
            sender: Identity::parse(IdentityKind::Whatsapp, "6281234567890").unwrap(),
            also_known_as: Vec::new(),
            display_name: Some("Siti Rahayu".into()),
            subject: None,
            text: "Bantuan sosial belum diterima.".into(),
            html: None,
            attachments: Vec::new(),
            ticket_ref: None,
            thread_key: None,
            metadata: None,
            received_at: app.ctx.clock.now(),
        })
        .await
        .unwrap();
        for (i, written) in ["0812-3456-7890", "6281234567890", "+62 812 3456 7890", "(0812) 3456.7890", "0812 3456 7890"].iter().enumerate() {
            let id = format!("match-{i}");
            cti_ok(&app, &event("newCall", &id, "in", written, "0224200112")).await;
            let call = call_by_call_id(&app, &id).await;
            assert_eq!(call["number"], "+6281234567890", "{written}");
            assert_eq!(call["contact"]["id"], wa.contact_id, "{written}");
            assert_eq!(call["contact"]["name"], "Siti Rahayu");
            assert_eq!(call["open_tickets"][0]["number"], wa.ticket_number.as_str(), "{call}");
        }
        let (_, list) = app.get(&app.agent_token, "/api/v1/calls?number=081234567890").await;
        assert_eq!(list["items"].as_array().unwrap().len(), 5);
        // A ticket from the call is the same citizen's, though they were known on WhatsApp only.
        let call = call_by_call_id(&app, "match-0").await;
        let (status, created) = app
            .post(&app.agent_token, &format!("/api/v1/calls/{}/ticket", call["id"]), &json!({ "notes": "Menanyakan bansos." }))
            .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["ticket"]["contact_id"], wa.contact_id);
        assert_eq!(created["ticket"]["subject"], "Telepon dari +6281234567890");
        let (_, contact) = app.get(&app.agent_token, &format!("/api/v1/contacts/{}", wa.contact_id)).await;
        let kinds: Vec<&str> = contact["identities"].as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["whatsapp", "phone"], "{contact}");
        // An unknown caller has no contact yet.
        cti_ok(&app, &event("newCall", "stranger", "in", "0899 0000 1111", "0224200112")).await;
        assert!(call_by_call_id(&app, "stranger").await["contact"].is_null());
        // Once someone records a ticket for that number, the log shows who called.
        let t = app.create_ticket("Air PDAM mati", "+62 899 0000 1111").await;
        let stranger = call_by_call_id(&app, "stranger").await;
        assert_eq!(stranger["contact"]["id"], t["contact_id"]);
        assert_eq!(stranger["open_tickets"][0]["id"], t["id"]);
    }

    async fn a_call_becomes_a_ticket_in_one_action(app, with_cti) {
        let existing = app.create_ticket("Jalan rusak", "0812-3450-0001").await;
        let tick = |s: i64| app.clock.advance(chrono::Duration::seconds(s));
        cti_ok(&app, &cti_fixture("seq_a_answered/01_newCall.json")).await;
        tick(12);
        cti_ok(&app, &cti_fixture("seq_a_answered/02_answer.json")).await;
        let call = call_by_call_id(&app, "b6f1c0de-7a51-4c3e-9d11-2608130001aa").await;
        assert_eq!(call["contact"]["id"], existing["contact_id"]);
        let path = format!("/api/v1/calls/{}/ticket", call["id"]);

        let (status, body) = app.post(&app.agent_token, &path, &json!({ "notes": "" })).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["errors"]["notes"].is_string());
        let request = json!({
            "subject": "Insentif belum cair",
            "notes": "Penelepon menanyakan insentif pelatihan yang belum masuk sejak bulan lalu.",
            "priority": "high",
        });
        let key = [("Idempotency-Key", "call-ticket-1")];
        let (status, created) = app.post_with_headers(&app.agent_token, &path, &request, &key).await;
        assert_eq!(status, 201, "{created}");
        let ticket = &created["ticket"];
        assert_eq!(ticket["channel"], "phone");
        assert_eq!(ticket["priority"], "high");
        assert_eq!(ticket["contact_id"], existing["contact_id"]);
        assert!(ticket["access_token"].is_string() && ticket["status_url"].is_string());
        assert_eq!(created["call"]["ticket"]["id"], ticket["id"]);
        // Same key, same answer, nothing new.
        let (status, again) = app.post_with_headers(&app.agent_token, &path, &request, &key).await;
        assert_eq!((status, &again["ticket"]["id"]), (201, &ticket["id"]));
        // Without the key: the call already has its ticket.
        let (status, body) = app.post(&app.agent_token, &path, &json!({ "notes": "lagi" })).await;
        assert_eq!((status, body["code"].as_str()), (409, Some("call_has_ticket")));

        let tid = ticket["id"].as_i64().unwrap();
        let detail = app.ticket(tid).await;
        assert_eq!(detail["messages"][0]["text"], "Penelepon menanyakan insentif pelatihan yang belum masuk sejak bulan lalu.");
        let linked = events_of_kind(&detail, "call_linked");
        assert_eq!(linked.len(), 1);
        assert_eq!(linked[0].1["call_id"], "b6f1c0de-7a51-4c3e-9d11-2608130001aa");

        // The hangup arrives with a recording: stored, and the ticket's audit shows it.
        tick(185);
        let mut hangup = cti_fixture("seq_a_answered/03_hangup.json");
        hangup["recordingUrl"] = json!("https://pbx.pemkot.example/rec/2608130001aa.wav");
        cti_ok(&app, &hangup).await;
        let call = call_by_call_id(&app, "b6f1c0de-7a51-4c3e-9d11-2608130001aa").await;
        assert_eq!(call["recording_url"], "https://pbx.pemkot.example/rec/2608130001aa.wav");
        let updated = events_of_kind(&app.ticket(tid).await, "call_updated");
        assert_eq!(updated.last().unwrap().1["state"], "completed");
        assert_eq!(updated.last().unwrap().1["recording_url"], "https://pbx.pemkot.example/rec/2608130001aa.wav");
        // An agent may correct it; a bad address is refused.
        let (status, _) = app.patch(&app.agent_token, &format!("/api/v1/calls/{}", call["id"]), &json!({ "recording_url": "javascript:alert(1)" })).await;
        assert_eq!(status, 422);
    }

    async fn anonymous_calls_need_a_contact_to_become_tickets(app, with_cti) {
        cti_ok(&app, &cti_fixture("edge/anonymous_caller.json")).await;
        let call = call_by_call_id(&app, "b6f1c0de-7a51-4c3e-9d11-2608130004dd").await;
        let path = format!("/api/v1/calls/{}/ticket", call["id"]);
        let (status, body) = app.post(&app.agent_token, &path, &json!({ "notes": "Keluhan lampu jalan mati." })).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["errors"]["contact"].as_str().unwrap().contains("anonymous"));
        let (status, created) = app
            .post(&app.agent_token, &path, &json!({ "notes": "Keluhan lampu jalan mati.", "contact": { "name": "Budi", "email": "budi@mail.example" } }))
            .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["ticket"]["subject"], "Telepon dari penelepon anonim");
        assert_eq!(created["call"]["contact"]["name"], "Budi");
    }

    async fn a_call_is_attached_to_an_open_ticket_with_notes(app, with_cti) {
        let t = app.create_ticket("Sampah menumpuk", "0821 7777 0001").await;
        let tid = t["id"].as_i64().unwrap();
        // A call from a number nobody has yet.
        cti_ok(&app, &event("newCall", "att-1", "in", "0821 7777 0002", "0224200112")).await;
        let call = call_by_call_id(&app, "att-1").await;
        assert!(call["contact"].is_null());
        let path = format!("/api/v1/calls/{}/attach", call["id"]);
        let (status, body) = app.post(&app.agent_token, &path, &json!({ "ticket": 999999 })).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["errors"]["ticket"].is_string());
        let (status, body) = app.post(&app.agent_token, &path, &json!({ "ticket": tid, "notes": "Warga menelepon dari nomor istrinya." })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["ticket"]["id"], tid);
        // The agent vouched for the number: it now belongs to the ticket's citizen.
        assert_eq!(body["contact"]["id"], t["contact_id"]);
        let detail = app.ticket(tid).await;
        let notes: Vec<_> = detail["messages"].as_array().unwrap().iter().filter(|m| m["direction"] == "note").collect();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0]["text"], "Warga menelepon dari nomor istrinya.");
        assert_eq!(events_of_kind(&detail, "call_linked").len(), 1);
        // Again with the same ticket: nothing new. Another ticket: refused.
        let (status, _) = app.post(&app.agent_token, &path, &json!({ "ticket": tid, "notes": "Warga menelepon dari nomor istrinya." })).await;
        assert_eq!(status, 200);
        assert_eq!(events_of_kind(&app.ticket(tid).await, "call_linked").len(), 1);
        let other = app.create_ticket("Lain", "0821 7777 0003").await;
        let (status, body) = app.post(&app.agent_token, &path, &json!({ "ticket": other["id"] })).await;
        assert_eq!((status, body["code"].as_str()), (409, Some("call_has_ticket")));

        // A closed ticket takes no calls.
        for st in ["resolved", "closed"] {
            let (status, _) = app.patch(&app.agent_token, &format!("/api/v1/tickets/{}", other["id"]), &json!({ "status": st })).await;
            assert_eq!(status, 200);
        }
        cti_ok(&app, &event("newCall", "att-2", "in", "0821 7777 0003", "0224200112")).await;
        let call2 = call_by_call_id(&app, "att-2").await;
        let (status, body) = app.post(&app.agent_token, &format!("/api/v1/calls/{}/attach", call2["id"]), &json!({ "ticket": other["id"] })).await;
        assert_eq!((status, body["code"].as_str()), (409, Some("ticket_closed")));
    }
}
