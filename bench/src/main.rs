//! Baselines measured beside the real server in the same run (see bench/run.sh):
//! * `raw-insert`: the same rows a ticket creation writes (contact, identity, ticket, message,
//!   two events), one transaction per ticket, straight through diesel on one connection;
//! * `hello`: an actix handler that touches no database.

use std::time::Instant;

use actix_web::{App, HttpResponse, HttpServer, web};
use clap::{Parser, Subcommand};
use tanggap::config::{Secret, Settings};
use tanggap::contacts::{Identity, IdentityKind};
use tanggap::context::AppContext;
use tanggap::tickets::model::*;
use tanggap::tickets::{numbering, repo};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Insert N tickets' rows directly; prints tickets/s.
    RawInsert {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 20000)]
        n: usize,
    },
    /// Serve `GET /hello` and `POST /hello` on BIND with no database.
    Hello {
        #[arg(long, default_value = "127.0.0.1:18099")]
        bind: String,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::RawInsert { url, n } => raw_insert(&url, n),
        Cmd::Hello { bind } => actix_web::rt::System::new().block_on(async move {
            HttpServer::new(|| {
                App::new().route(
                    "/hello",
                    web::to(|| async { HttpResponse::Created().json(serde_json_ok()) }),
                )
            })
            .bind(bind)?
            .run()
            .await?;
            Ok(())
        }),
    }
}

fn serde_json_ok() -> std::collections::BTreeMap<&'static str, &'static str> {
    std::collections::BTreeMap::from([("status", "ok")])
}

fn raw_insert(url: &str, n: usize) -> anyhow::Result<()> {
    let mut settings = Settings::defaults();
    settings.database.url = Secret::new(url);
    let ctx = AppContext::open(settings)?;
    tanggap::startup::migrate(&ctx)?;
    let mut conn = ctx.db.write_conn()?;
    let tz = ctx.settings.tickets.timezone;
    let start = Instant::now();
    for i in 0..n {
        tanggap::db::write_tx(&mut conn, |c| {
            let now = chrono::Utc::now();
            let ts = now.naive_utc();
            let contact = tanggap::contacts::repo::insert(c, "Warga", ts)?;
            let phone =
                Identity::parse(IdentityKind::Phone, &format!("0813{i:08}")).map_err(|e| anyhow_to_diesel(&e))?;
            tanggap::contacts::repo::add_identity(c, contact.id, &phone, ts)?;
            let number = ctx.numbers.next(c, now, tz)?;
            let (_, hash) = numbering::new_access_token();
            let t = repo::insert_ticket(
                c,
                &NewTicket {
                    number: &number,
                    access_token_hash: &hash,
                    subject: "Sampah menumpuk",
                    status: "new",
                    priority: "normal",
                    channel: "phone",
                    contact_id: contact.id,
                    category_id: None,
                    team_id: None,
                    assignee_id: None,
                    parent_ticket_id: None,
                    language: "id",
                    created_at: ts,
                    updated_at: ts,
                    last_inbound_at: Some(ts),
                    thread_key: None,
                },
            )?;
            let m = repo::insert_message(
                c,
                &NewMessage {
                    ticket_id: t.id,
                    direction: "inbound",
                    channel: "phone",
                    author_user_id: None,
                    author_contact_id: Some(contact.id),
                    body_text: "Sudah lima hari tidak diangkut",
                    body_html: None,
                    external_id: None,
                    delivery_state: "received",
                    created_at: ts,
                    metadata: None,
                },
            )?;
            for kind in ["created", "message_added"] {
                repo::insert_event(
                    c,
                    &NewEvent {
                        ticket_id: t.id,
                        actor_kind: "system",
                        actor_id: None,
                        kind,
                        before_value: None,
                        after_value: Some(format!("{{\"message_id\":{}}}", m.id)),
                        created_at: ts,
                    },
                )?;
            }
            Ok::<_, diesel::result::Error>(())
        })?;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "raw_insert tickets={n} seconds={secs:.3} tickets_per_sec={:.0}",
        n as f64 / secs
    );
    Ok(())
}

fn anyhow_to_diesel(e: &str) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(e.to_string().into())
}
