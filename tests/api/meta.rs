//! Instagram and WhatsApp: the handshake, signatures over raw bytes, every fixture through the
//! durable inbox into tickets, and replies out to a fake Graph API over loopback HTTP.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tanggap::channels::meta::signature::sign;
use tanggap::config::{Secret, SecretList, Settings};

use crate::fake_graph::FakeGraph;
use crate::helpers::{Backend, TestApp, events_of_kind, spawn_app_with};

const SECRET: &str = "uji-rahasia-aplikasi-meta-0001";
const VERIFY: &str = "uji-verify-token-pengaduan";
const IG_ACCOUNT: &str = "17841400000000001";
const WA_NUMBER: &str = "100000000000020";
const CITIZEN_A: &str = "7000000000000101";
const CITIZEN_B: &str = "7000000000000102";
/// Shortly after the fixtures' first message (2026-08-13), so Meta's 24-hour window is open.
const FIXTURE_TIME: i64 = 1786600060;

fn configure(s: &mut Settings, graph: &str) {
    s.instagram.app_secrets = SecretList(vec![Secret::new("rahasia-lama-tidak-dipakai"), Secret::new(SECRET)]);
    s.instagram.verify_token = Secret::new(VERIFY);
    s.instagram.account_id = IG_ACCOUNT.into();
    s.instagram.access_token = Secret::new("UJI-INSTAGRAM-USER-ACCESS-TOKEN");
    s.whatsapp.app_secrets = SecretList(vec![Secret::new(SECRET)]);
    s.whatsapp.verify_token = Secret::new(VERIFY);
    s.whatsapp.phone_number_id = WA_NUMBER.into();
    s.whatsapp.access_token = Secret::new("UJI-WHATSAPP-TOKEN");
    s.meta.graph_base_url = graph.into();
}

async fn setup(backend: Backend) -> (TestApp, FakeGraph) {
    setup_with(backend, |_| {}).await
}

async fn setup_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> (TestApp, FakeGraph) {
    let graph = FakeGraph::start().await;
    let base = graph.base.clone();
    let app = spawn_app_with(backend, move |s| {
        configure(s, &base);
        tweak(s);
    })
    .await;
    app.clock.set(at(FIXTURE_TIME));
    (app, graph)
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

/// The `X-Hub-Signature-256` Meta sent with each fixture, from meta_signatures.tsv.
fn fixture_signatures() -> HashMap<String, String> {
    String::from_utf8(fixture("meta_signatures.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols[0].to_string(), cols[1].to_string())
        })
        .collect()
}

async fn post_raw(app: &TestApp, platform: &str, body: Vec<u8>, signature: Option<&str>) -> (u16, String) {
    let mut rb = app
        .http
        .post(app.url(&format!("/webhooks/{platform}")))
        .header("content-type", "application/json")
        .body(body);
    if let Some(s) = signature {
        rb = rb.header("X-Hub-Signature-256", s);
    }
    let r = rb.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

/// Posts a fixture with the signature Meta computed for it, and expects the 200.
async fn deliver_fixture(app: &TestApp, name: &str) {
    let sig = fixture_signatures()[name].clone();
    let platform = name.split('/').next().unwrap();
    let (status, body) = post_raw(app, platform, fixture(name), Some(&sig)).await;
    assert_eq!(status, 200, "{name}: {body}");
}

/// Posts our own payload signed with the test secret.
async fn deliver_json(app: &TestApp, platform: &str, payload: &Value) {
    let body = serde_json::to_vec(payload).unwrap();
    let sig = sign(SECRET, &body);
    let (status, text) = post_raw(app, platform, body, Some(&sig)).await;
    assert_eq!(status, 200, "{text}");
}

fn ig_dm(sender: &str, mid: &str, ts_ms: i64, text: &str) -> Value {
    json!({"object":"instagram","entry":[{"time":ts_ms,"id":IG_ACCOUNT,"messaging":[{
        "sender":{"id":sender},"recipient":{"id":IG_ACCOUNT},"timestamp":ts_ms,
        "message":{"mid":mid,"text":text}}]}]})
}

async fn tickets(app: &TestApp, channel: &str) -> Vec<Value> {
    let (status, body) = app
        .get(
            &app.agent_token,
            &format!("/api/v1/tickets?channel={channel}&limit=200"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// The single ticket of the contact with this identity value.
async fn ticket_of(app: &TestApp, channel: &str, identity: &str) -> Value {
    let mut found = Vec::new();
    for t in tickets(app, channel).await {
        let full = app.ticket(t["id"].as_i64().unwrap()).await;
        let ids = full["contact"]["identities"].as_array().unwrap().clone();
        if ids.iter().any(|i| i["value"] == identity) {
            found.push(full);
        }
    }
    assert_eq!(
        found.len(),
        1,
        "expected one {channel} ticket for {identity}, found {}",
        found.len()
    );
    found.pop().unwrap()
}

fn texts(ticket: &Value) -> Vec<String> {
    ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

async fn inbound_events(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = app
        .get(&app.admin_token, &format!("/api/v1/inbound-events{query}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// Runs jobs until the inbox is quiet: bodies processed out of order wait (with backoff) for the
/// messages they refer to, so the clock moves on a little between rounds.
async fn settle(app: &TestApp) {
    app.run_jobs().await;
    for _ in 0..20 {
        if inbound_events(app, "?state=pending").await.is_empty() {
            return;
        }
        app.clock.advance(Duration::seconds(20));
        app.run_jobs().await;
    }
}

async fn reply(app: &TestApp, ticket_id: i64, body: Value) -> (u16, Value) {
    app.post(
        &app.agent_token,
        &format!("/api/v1/tickets/{ticket_id}/messages"),
        &body,
    )
    .await
}

crate::each_backend! {
    async fn handshake_echoes_the_challenge_only_for_our_token(backend) {
        let (app, _graph) = setup(backend).await;
        for platform in ["instagram", "whatsapp"] {
            let ok = app
                .http
                .get(app.url(&format!(
                    "/webhooks/{platform}?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY}"
                )))
                .send()
                .await
                .unwrap();
            assert_eq!(ok.status().as_u16(), 200);
            assert_eq!(ok.text().await.unwrap(), "1158201444");
            for query in [
                "hub.mode=subscribe&hub.challenge=987654321&hub.verify_token=salah",
                "hub.mode=unsubscribe&hub.challenge=987654321&hub.verify_token=uji-verify-token-pengaduan",
                "hub.mode=subscribe&hub.verify_token=uji-verify-token-pengaduan",
                "",
            ] {
                let r = app.http.get(app.url(&format!("/webhooks/{platform}?{query}"))).send().await.unwrap();
                assert_eq!(r.status().as_u16(), 403, "{query}");
            }
        }
    }

    async fn signatures_are_checked_over_the_raw_bytes_before_anything_is_stored(backend) {
        let (app, _graph) = setup(backend).await;
        let sigs = fixture_signatures();
        let good = &sigs["instagram/02_dm_text.json"];
        // Meta's own bytes with Meta's signature pass; the same JSON re-serialised does not.
        let (status, _) = post_raw(&app, "instagram", fixture("instagram/02b_dm_text_reserialized_BADSIG.json"), Some(good)).await;
        assert_eq!(status, 401);
        let mut tampered = fixture("instagram/02_dm_text.json");
        let pos = tampered.iter().position(|b| *b == b'2').unwrap();
        tampered[pos] = b'3';
        let (status, body) = post_raw(&app, "instagram", tampered, Some(good)).await;
        assert_eq!(status, 401);
        assert!(body.contains("does not match"), "{body}");
        let (status, body) = post_raw(&app, "instagram", fixture("instagram/02_dm_text.json"), None).await;
        assert_eq!(status, 401);
        assert!(body.contains("missing"), "{body}");
        let (status, _) = post_raw(&app, "instagram", fixture("instagram/02_dm_text.json"), Some("sha256=00")).await;
        assert_eq!(status, 401);
        // A signature for Instagram does not open the WhatsApp door with another secret either.
        let (status, _) = post_raw(&app, "whatsapp", fixture("whatsapp/01_text_message.json"), Some("sha256=deadbeef")).await;
        assert_eq!(status, 401);
        assert!(inbound_events(&app, "").await.is_empty(), "nothing refused may be stored");
        assert_eq!(app.run_jobs().await, 0);
        assert!(tickets(&app, "instagram").await.is_empty());
    }

    async fn every_signed_fixture_is_acknowledged_and_processed(backend) {
        let (app, _graph) = setup(backend).await;
        let mut names: Vec<String> = fixture_signatures()
            .into_keys()
            .filter(|n| !n.contains("BADSIG"))
            .collect();
        names.sort();
        for name in &names {
            deliver_fixture(&app, name).await;
        }
        assert_eq!(inbound_events(&app, "").await.len(), names.len(), "every acknowledged body is stored");
        settle(&app).await;
        let failed = inbound_events(&app, "?state=failed").await;
        assert!(failed.is_empty(), "{failed:?}");
        assert_eq!(inbound_events(&app, "?state=processed").await.len(), names.len());
        // Citizen A (DMs, edit, unsend, standby), citizen B (batch, postback, story), two commenters,
        // the mentioned comment's author, the WhatsApp citizen.
        assert!(!tickets(&app, "instagram").await.is_empty());
        assert_eq!(tickets(&app, "whatsapp").await.len(), 1);
    }

    async fn direct_messages_thread_into_one_ticket_in_timestamp_order(backend) {
        let (app, _graph) = setup(backend).await;
        deliver_fixture(&app, "instagram/02_dm_text.json").await;
        deliver_fixture(&app, "instagram/03_dm_image_attachments.json").await;
        deliver_fixture(&app, "instagram/04_dm_reply_to.json").await;
        // Meta retries: the same body again, and a batch repeating mid 1 with B's messages out of order.
        deliver_fixture(&app, "instagram/02_dm_text.json").await;
        deliver_fixture(&app, "instagram/13_batched_with_duplicate.json").await;
        settle(&app).await;

        let a = ticket_of(&app, "instagram", CITIZEN_A).await;
        let msgs = a["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(msgs[0]["text"].as_str().unwrap().starts_with("Selamat siang min."));
        assert!(msgs[0]["text"].as_str().unwrap().contains('\u{1f64f}'), "emoji decoded from the surrogate pair");
        let atts = msgs[1]["attachments"].as_array().unwrap();
        assert_eq!(atts.len(), 2);
        assert!(atts[0]["source_url"].as_str().unwrap().contains("asset_id=18000000000000201"));
        assert!(msgs[2]["metadata"]["reply_to_mid"].as_str().unwrap().ends_with("MDAxMDE"));
        assert_eq!(a["thread_key"], Value::Null);

        let b = ticket_of(&app, "instagram", CITIZEN_B).await;
        // mid 7 (timestamp …4000) came later in the body than mid 6 (…5000) but happened first.
        assert_eq!(texts(&b), vec!["Maaf min, mau tanya dulu", "Halo, jam pelayanan Disdukcapil hari Sabtu buka?"]);
        let processed = inbound_events(&app, "?state=processed").await;
        assert_eq!(processed.len(), 5);
        let batch = processed.iter().find(|e| e["outcome"]["duplicates"] == 1).expect("batch outcome");
        assert_eq!(batch["outcome"]["messages"], 2);
    }

    async fn out_of_order_deliveries_are_shown_in_timestamp_order(backend) {
        let (app, _graph) = setup(backend).await;
        let t0 = FIXTURE_TIME * 1000;
        deliver_json(&app, "instagram", &ig_dm(CITIZEN_A, "mid.later", t0 + 2000, "kedua")).await;
        settle(&app).await;
        deliver_json(&app, "instagram", &ig_dm(CITIZEN_A, "mid.earlier", t0 + 1000, "pertama")).await;
        settle(&app).await;
        let a = ticket_of(&app, "instagram", CITIZEN_A).await;
        assert_eq!(texts(&a), vec!["pertama", "kedua"]);
    }

    async fn unsend_edit_read_reaction_and_echo_update_the_conversation(backend) {
        let (app, _graph) = setup(backend).await;
        for f in ["02_dm_text", "04_dm_reply_to", "07_dm_echo", "08_dm_deleted", "09_messaging_seen", "10_message_edit", "15_reaction"] {
            deliver_fixture(&app, &format!("instagram/{f}.json")).await;
        }
        settle(&app).await;
        assert_eq!(tickets(&app, "instagram").await.len(), 1, "an echo never opens a ticket");
        let a = ticket_of(&app, "instagram", CITIZEN_A).await;
        let msgs = a["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        // Edited (num_edit 1): new text, the old one in the audit.
        assert!(msgs[0]["text"].as_str().unwrap().contains("hampir 3 minggu"));
        assert!(msgs[0]["edited_at"].is_string());
        let edits = events_of_kind(&a, "message_edited");
        assert!(edits[0].0["text"].as_str().unwrap().contains("sudah mati 2 minggu"));
        // The echo: an outbound message typed in the Instagram app, now read and loved.
        let echo = &msgs[1];
        assert_eq!(echo["direction"], "outbound");
        assert_eq!(echo["metadata"]["sent_from"], "instagram_app");
        assert_eq!(echo["delivery_state"], "read");
        assert_eq!(echo["metadata"]["reactions"][CITIZEN_A], "\u{2764}\u{fe0f}");
        // Unsent: text gone from the message, kept in the audit trail.
        let gone = &msgs[2];
        assert_eq!(gone["text"], "");
        assert!(gone["deleted_at"].is_string());
        let deletions = events_of_kind(&a, "message_deleted");
        assert!(deletions[0].0["text"].as_str().unwrap().contains("tiang nomor 14"));
        // Replaying the same events changes nothing more.
        for f in ["07_dm_echo", "08_dm_deleted", "10_message_edit"] {
            deliver_fixture(&app, &format!("instagram/{f}.json")).await;
        }
        settle(&app).await;
        let again = ticket_of(&app, "instagram", CITIZEN_A).await;
        assert_eq!(again["messages"].as_array().unwrap().len(), 3);
        assert_eq!(events_of_kind(&again, "message_deleted").len(), 1);
        assert_eq!(events_of_kind(&again, "message_edited").len(), 1);
    }

    async fn postbacks_standby_story_mentions_and_story_replies_become_messages(backend) {
        let (app, _graph) = setup(backend).await;
        for f in ["16_postback", "05_story_mention", "06_story_reply", "17_standby", "14_dashboard_test_event"] {
            deliver_fixture(&app, &format!("instagram/{f}.json")).await;
        }
        settle(&app).await;
        let b = ticket_of(&app, "instagram", CITIZEN_B).await;
        let msgs = b["messages"].as_array().unwrap();
        assert_eq!(texts(&b)[0], "Buat laporan baru");
        assert_eq!(msgs[0]["metadata"]["postback_payload"], "LAPOR_BARU");
        assert_eq!(msgs[1]["text"], "[Menyebut akun kita di story]");
        assert!(msgs[1]["attachments"][0]["source_url"].as_str().unwrap().contains("S1"));
        assert_eq!(msgs[2]["metadata"]["reply_to_story"]["id"], "18000000000000302");
        let a = ticket_of(&app, "instagram", CITIZEN_A).await;
        assert_eq!(texts(&a), vec!["Min, sudah ada kabar?"]);
        assert_eq!(a["messages"][0]["metadata"]["standby"], true);
        let done = inbound_events(&app, "?state=processed").await;
        assert!(done.iter().any(|e| e["outcome"]["ignored"][0] == "App Dashboard test event"));
    }

    async fn comments_open_one_ticket_per_commenter_and_post(backend) {
        let (app, graph) = setup(backend).await;
        deliver_fixture(&app, "instagram/11_comment.json").await;
        deliver_fixture(&app, "instagram/11b_comment_reply.json").await;
        // The first commenter also sends a DM: that is their direct conversation, not the comment one.
        deliver_json(&app, "instagram", &ig_dm("7000000000000103", "mid.dm.103", FIXTURE_TIME * 1000, "Ini foto trotoarnya")).await;
        settle(&app).await;
        let all = tickets(&app, "instagram").await;
        assert_eq!(all.len(), 3);
        let comment = all.iter().find(|t| t["subject"].as_str().unwrap().starts_with("Min, trotoar")).unwrap();
        let full = app.ticket(comment["id"].as_i64().unwrap()).await;
        assert_eq!(full["thread_key"], "ig-comments:18000000000000777");
        assert_eq!(full["contact"]["name"], "@warga.cibiru");
        assert_eq!(full["messages"][0]["metadata"]["comment_id"], "18000000000000901");
        assert_eq!(full["reply_window"]["mode"], "comment");

        // Public reply under the comment, then one private reply, then no second one.
        let id = full["id"].as_i64().unwrap();
        let (status, body) = reply(&app, id, json!({ "kind": "reply", "body": "Terima kasih, sudah kami teruskan ke Dinas PU." })).await;
        assert_eq!(status, 201, "{body}");
        settle(&app).await;
        let (status, body) = reply(&app, id, json!({ "kind": "reply", "body": "Boleh minta nomor HP Kakak?", "reply_via": "private_reply" })).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = reply(&app, id, json!({ "kind": "reply", "body": "Halo lagi", "reply_via": "private_reply" })).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["code"], "private_reply_used");
        let (status, body) = reply(&app, id, json!({ "kind": "reply", "body": "x", "reply_via": "dm" })).await;
        assert_eq!(status, 422, "{body}");
        settle(&app).await;
        let reqs = graph.requests();
        assert_eq!(reqs.len(), 2, "{reqs:?}");
        assert_eq!(reqs[0].path, "/v23.0/18000000000000901/replies");
        assert_eq!(reqs[0].body["message"], "Terima kasih, sudah kami teruskan ke Dinas PU.");
        assert_eq!(reqs[1].path, format!("/v23.0/{IG_ACCOUNT}/messages"));
        assert_eq!(reqs[1].body["recipient"]["comment_id"], "18000000000000901");
        let full = app.ticket(id).await;
        let out: Vec<&Value> = full["messages"].as_array().unwrap().iter().filter(|m| m["direction"] == "outbound").collect();
        assert!(out.iter().all(|m| m["delivery_state"] == "sent"), "{out:?}");
        // Our own public reply comes back as a comments webhook from our account: not a ticket.
        let own = out[0]["external_id"].as_str().unwrap().trim_start_matches("comment:").to_string();
        deliver_json(&app, "instagram", &json!({"object":"instagram","entry":[{"time":FIXTURE_TIME,"id":IG_ACCOUNT,"changes":[{"field":"comments","value":{"from":{"id":IG_ACCOUNT,"username":"pemkot"},"media":{"id":"18000000000000777"},"id":own,"parent_id":"18000000000000901","text":"Terima kasih, sudah kami teruskan ke Dinas PU."}}]}]})).await;
        settle(&app).await;
        assert_eq!(tickets(&app, "instagram").await.len(), 3);
    }

    async fn a_mention_is_fetched_from_the_graph_api(backend) {
        let (app, graph) = setup(backend).await;
        graph.respond(200, json!({ "mentioned_comment": { "id": "18000000000000999", "text": "@pemkot jalan berlubang di sini", "username": "pengendara.motor", "from": { "id": "7000000000000105", "username": "pengendara.motor" }, "media": { "id": "18000000000000888" } }, "id": IG_ACCOUNT }));
        deliver_fixture(&app, "instagram/12_mention.json").await;
        settle(&app).await;
        let reqs = graph.requests();
        assert_eq!(reqs[0].method, "GET");
        assert!(reqs[0].query.contains("mentioned_comment.comment_id%2818000000000000999%29"), "{}", reqs[0].query);
        let t = ticket_of(&app, "instagram", "7000000000000105").await;
        assert_eq!(texts(&t), vec!["@pemkot jalan berlubang di sini"]);
        assert_eq!(t["messages"][0]["metadata"]["kind"], "mention");
        // A public reply to a mention goes through the mentions endpoint.
        let (status, body) = reply(&app, t["id"].as_i64().unwrap(), json!({ "kind": "reply", "body": "Sudah kami catat." })).await;
        assert_eq!(status, 201, "{body}");
        settle(&app).await;
        let reqs = graph.requests();
        assert_eq!(reqs[1].path, format!("/v23.0/{IG_ACCOUNT}/mentions"));
        assert_eq!(reqs[1].body["comment_id"], "18000000000000999");
    }

    async fn oversized_bodies_are_refused_before_they_are_stored(backend) {
        let (app, _graph) = setup_with(backend, |s| s.meta.webhook_max_bytes = 4096).await;
        let big = ig_dm(CITIZEN_A, "mid.besar", FIXTURE_TIME * 1000, &"x".repeat(5000));
        let body = serde_json::to_vec(&big).unwrap();
        let sig = sign(SECRET, &body);
        let (status, text) = post_raw(&app, "instagram", body, Some(&sig)).await;
        assert_eq!(status, 413, "{text}");
        assert!(text.contains("webhook_max_bytes"), "{text}");
        assert!(inbound_events(&app, "").await.is_empty());
    }

    async fn signed_but_unintelligible_bodies_are_kept_for_admins(backend) {
        let (app, _graph) = setup(backend).await;
        for body in [&b"ini bukan JSON"[..], br#"{"object":"page","entry":[]}"#, br#"{"object":"instagram"}"#] {
            let sig = sign(SECRET, body);
            let (status, _) = post_raw(&app, "instagram", body.to_vec(), Some(&sig)).await;
            assert_eq!(status, 200);
        }
        settle(&app).await;
        let failed = inbound_events(&app, "?state=failed").await;
        assert_eq!(failed.len(), 3);
        assert!(failed.iter().any(|e| e["outcome"]["error"].as_str().unwrap().contains("not JSON")));
        assert!(failed.iter().any(|e| e["outcome"]["error"].as_str().unwrap().contains("`page`")));
        let id = failed[0]["id"].as_i64().unwrap();
        let (status, one) = app.get(&app.admin_token, &format!("/api/v1/inbound-events/{id}")).await;
        assert_eq!(status, 200);
        assert!(one["payload"].is_string());
        // Agents cannot read raw payloads; admins can reprocess.
        let (status, _) = app.get(&app.agent_token, "/api/v1/inbound-events").await;
        assert_eq!(status, 403);
        let (status, _) = app.post(&app.admin_token, &format!("/api/v1/inbound-events/{id}/reprocess"), &json!({})).await;
        assert_eq!(status, 202);
        settle(&app).await;
        assert_eq!(inbound_events(&app, "?state=failed").await.len(), 3);
        let (status, _) = app.get(&app.admin_token, "/api/v1/inbound-events?state=bogus").await;
        assert_eq!(status, 422);
    }

    async fn whatsapp_messages_join_the_contact_known_by_phone(backend) {
        let (app, graph) = setup(backend).await;
        // The citizen phoned first; the WhatsApp id is the same number.
        let phoned = app.create_ticket("Air PDAM mati", "0812-3450-0002").await;
        deliver_fixture(&app, "whatsapp/01_text_message.json").await;
        deliver_fixture(&app, "whatsapp/01_text_message.json").await;
        app.clock.set(at(1786600120 + 60));
        settle(&app).await;
        let wa = tickets(&app, "whatsapp").await;
        assert_eq!(wa.len(), 1, "a retried delivery gives one message");
        let t = app.ticket(wa[0]["id"].as_i64().unwrap()).await;
        assert_eq!(t["contact_id"], phoned["contact_id"]);
        let kinds: Vec<&str> = t["contact"]["identities"].as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
        assert!(kinds.contains(&"whatsapp") && kinds.contains(&"phone"), "{kinds:?}");
        assert_eq!(texts(&t).len(), 1);

        // Reply out through the Cloud API, then Meta's status reports move it forward, never back.
        graph.respond(200, json!({ "messaging_product": "whatsapp", "messages": [{ "id": "wamid.VUpJOjYyODEyMzQ1MDAwMDI6T1VUQk9VTkQ6MDAwMQ==" }] }));
        let (status, body) = reply(&app, t["id"].as_i64().unwrap(), json!({ "kind": "reply", "body": "Mohon maaf, petugas PDAM sedang menuju lokasi." })).await;
        assert_eq!(status, 201, "{body}");
        settle(&app).await;
        let reqs = graph.requests();
        assert_eq!(reqs[0].path, format!("/v23.0/{WA_NUMBER}/messages"));
        assert_eq!(reqs[0].authorization.as_deref(), Some("Bearer UJI-WHATSAPP-TOKEN"));
        assert_eq!(reqs[0].body["to"], "6281234500002");
        assert_eq!(reqs[0].body["text"]["body"], "Mohon maaf, petugas PDAM sedang menuju lokasi.");
        deliver_fixture(&app, "whatsapp/02_status_delivered.json").await;
        settle(&app).await;
        let t = app.ticket(t["id"].as_i64().unwrap()).await;
        let out = t["messages"].as_array().unwrap().iter().find(|m| m["direction"] == "outbound").unwrap().clone();
        assert_eq!(out["delivery_state"], "delivered");
        let read = json!({"object":"whatsapp_business_account","entry":[{"id":"100000000000010","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":WA_NUMBER},"statuses":[{"id":out["external_id"],"status":"read","timestamp":"1786600400","recipient_id":"6281234500002"}]}}]}]});
        deliver_json(&app, "whatsapp", &read).await;
        deliver_fixture(&app, "whatsapp/02_status_delivered.json").await;
        settle(&app).await;
        let t = app.ticket(t["id"].as_i64().unwrap()).await;
        let out = t["messages"].as_array().unwrap().iter().find(|m| m["direction"] == "outbound").unwrap().clone();
        assert_eq!(out["delivery_state"], "read");
    }

    async fn instagram_replies_go_out_and_the_echo_is_recognised(backend) {
        let (app, graph) = setup(backend).await;
        deliver_fixture(&app, "instagram/02_dm_text.json").await;
        settle(&app).await;
        let t = ticket_of(&app, "instagram", CITIZEN_A).await;
        assert_eq!(t["reply_window"]["mode"], "standard");
        let id = t["id"].as_i64().unwrap();
        graph.respond(200, json!({ "recipient_id": CITIZEN_A, "message_id": "aWdfaXRlbToxOklHTWVzc2FnZToxNzg0MTQwMDAwMDAwMDAwMTowMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAxMDI" }));
        let text = "Halo Kak, laporan lampu PJU Jl. Merdeka sudah kami terima.";
        let (status, body) = reply(&app, id, json!({ "kind": "reply", "body": text })).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["delivery_state"], "queued");
        settle(&app).await;
        let reqs = graph.requests();
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].path, format!("/v23.0/{IG_ACCOUNT}/messages"));
        assert_eq!(reqs[0].authorization.as_deref(), Some("Bearer UJI-INSTAGRAM-USER-ACCESS-TOKEN"));
        assert_eq!(reqs[0].body, json!({ "recipient": { "id": CITIZEN_A }, "message": { "text": text } }));
        // Meta echoes our send: the same message, not a second one.
        let echo = json!({"object":"instagram","entry":[{"time":1,"id":IG_ACCOUNT,"messaging":[{"sender":{"id":IG_ACCOUNT},"recipient":{"id":CITIZEN_A},"timestamp":(FIXTURE_TIME + 5) * 1000,"message":{"mid":"aWdfaXRlbToxOklHTWVzc2FnZToxNzg0MTQwMDAwMDAwMDAwMTowMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAxMDI","text":text,"is_echo":true}}]}]});
        deliver_json(&app, "instagram", &echo).await;
        settle(&app).await;
        let t = app.ticket(id).await;
        let out: Vec<&Value> = t["messages"].as_array().unwrap().iter().filter(|m| m["direction"] == "outbound").collect();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0]["delivery_state"], "sent");
        assert!(out[0]["external_id"].as_str().unwrap().ends_with("MDAxMDI"));
        // Over the platform limit: refused before anything is stored, with the numbers.
        let (status, body) = reply(&app, id, json!({ "kind": "reply", "body": "a".repeat(1001) })).await;
        assert_eq!(status, 422);
        assert!(body["errors"]["body"].as_str().unwrap().contains("1000"), "{body}");
    }

    async fn outside_the_window_replies_are_held_until_the_citizen_writes(backend) {
        let (app, graph) = setup(backend).await;
        deliver_fixture(&app, "instagram/02_dm_text.json").await;
        settle(&app).await;
        let id = ticket_of(&app, "instagram", CITIZEN_A).await["id"].as_i64().unwrap();
        app.clock.advance(Duration::hours(30));
        let t = app.ticket(id).await;
        assert_eq!(t["reply_window"]["open"], false);
        let (status, body) = reply(&app, id, json!({ "kind": "reply", "body": "Maaf baru kami balas." })).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["delivery_state"], "held");
        assert!(body["notice"].as_str().unwrap().contains("24 hours"), "{body}");
        settle(&app).await;
        assert!(graph.requests().is_empty(), "nothing may be sent outside the window");
        // The citizen writes again: the window opens and the held reply goes out.
        let now_ms = app.ctx.clock.now().timestamp_millis();
        deliver_json(&app, "instagram", &ig_dm(CITIZEN_A, "mid.kembali", now_ms, "Halo? Ada kabar?")).await;
        settle(&app).await;
        let reqs = graph.requests();
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].body["message"]["text"], "Maaf baru kami balas.");
        let t = app.ticket(id).await;
        assert_eq!(events_of_kind(&t, "reply_released").len(), 1);
        let held = t["messages"].as_array().unwrap().iter().find(|m| m["text"] == "Maaf baru kami balas.").unwrap().clone();
        assert_eq!(held["delivery_state"], "sent");
    }

    async fn human_agent_tag_extends_the_window_to_seven_days_when_enabled(backend) {
        let (app, graph) = setup_with(backend, |s| s.instagram.human_agent_tag = true).await;
        deliver_fixture(&app, "instagram/02_dm_text.json").await;
        settle(&app).await;
        let id = ticket_of(&app, "instagram", CITIZEN_A).await["id"].as_i64().unwrap();
        app.clock.advance(Duration::days(3));
        let (status, body) = reply(&app, id, json!({ "kind": "reply", "body": "Update tiket: lampu sudah diganti." })).await;
        assert_eq!(status, 201, "{body}");
        settle(&app).await;
        let reqs = graph.requests();
        assert_eq!(reqs[0].body["messaging_type"], "MESSAGE_TAG");
        assert_eq!(reqs[0].body["tag"], "HUMAN_AGENT");
        app.clock.advance(Duration::days(5));
        let (_, body) = reply(&app, id, json!({ "kind": "reply", "body": "Masih ada kendala?" })).await;
        assert_eq!(body["delivery_state"], "held");
    }

    async fn graph_errors_hold_fail_or_retry_visibly(backend) {
        let (app, graph) = setup(backend).await;
        deliver_fixture(&app, "instagram/02_dm_text.json").await;
        settle(&app).await;
        let id = ticket_of(&app, "instagram", CITIZEN_A).await["id"].as_i64().unwrap();
        let window: Value = serde_json::from_slice(&fixture("instagram/send_api/response_error_outside_window.json")).unwrap();
        let answers = [
            (400, window),
            (400, json!({ "error": { "message": "Error validating access token", "type": "OAuthException", "code": 190 } })),
            (503, json!({ "error": { "message": "Service temporarily unavailable", "code": 2 } })),
        ];
        for (text, (status, answer)) in ["satu", "dua", "tiga"].into_iter().zip(answers) {
            graph.respond(status, answer);
            let (status, _) = reply(&app, id, json!({ "kind": "reply", "body": text })).await;
            assert_eq!(status, 201);
            app.run_jobs().await;
        }
        let t = app.ticket(id).await;
        let state = |text: &str| t["messages"].as_array().unwrap().iter().find(|m| m["text"] == text).unwrap().clone();
        assert_eq!(state("satu")["delivery_state"], "held");
        assert!(state("satu")["delivery_error"].as_str().unwrap().contains("window"));
        assert_eq!(state("dua")["delivery_state"], "failed");
        assert!(state("dua")["delivery_error"].as_str().unwrap().contains("ACCESS_TOKEN"));
        assert_eq!(state("tiga")["delivery_state"], "queued");
        assert!(state("tiga")["delivery_error"].as_str().unwrap().contains("temporar"));
        assert_eq!(events_of_kind(&t, "delivery_failed").len(), 1);
        // The retry succeeds once the backoff has passed.
        app.clock.advance(Duration::minutes(5));
        app.run_jobs().await;
        let t = app.ticket(id).await;
        let tiga = t["messages"].as_array().unwrap().iter().find(|m| m["text"] == "tiga").unwrap().clone();
        assert_eq!(tiga["delivery_state"], "sent");
        assert!(tiga.get("delivery_error").is_none());
    }

    async fn racing_retries_of_one_body_store_one_message(backend) {
        let (app, _graph) = setup(backend).await;
        let body = fixture("instagram/02_dm_text.json");
        let sig = fixture_signatures()["instagram/02_dm_text.json"].clone();
        let mut handles = Vec::new();
        for _ in 0..8 {
            let (http, url, body, sig) = (app.http.clone(), app.url("/webhooks/instagram"), body.clone(), sig.clone());
            handles.push(actix_web::rt::spawn(async move {
                http.post(url).header("X-Hub-Signature-256", sig).body(body).send().await.unwrap().status().as_u16()
            }));
        }
        for h in handles {
            assert_eq!(h.await.unwrap(), 200);
        }
        settle(&app).await;
        let a = ticket_of(&app, "instagram", CITIZEN_A).await;
        assert_eq!(a["messages"].as_array().unwrap().len(), 1);
        assert_eq!(inbound_events(&app, "?state=processed").await.len(), 8);
    }
}
