//! Baselines measured beside the real server in the same run (see bench/run.sh):
//! * `raw-insert`: the same rows a ticket creation writes (contact, identity, ticket, message,
//!   two events), one transaction per ticket, straight through diesel on one connection;
//! * `hello`: an actix handler that touches no database;
//! * `raw-inbox`: the rows a webhook acknowledgement writes (stored body + its job), one
//!   transaction each;
//! * `meta-payloads` writes signed Instagram webhook bodies for the load generator, and `drain`
//!   runs the job worker in-process until the queue is empty, to time processing on its own.

mod email;
mod sla;

use std::time::Instant;

use actix_web::{App, HttpResponse, HttpServer, web};
use clap::{Parser, Subcommand};
use tanggap::channels::meta::inbox;
use tanggap::channels::meta::signature::sign;
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
    /// SLA timer scan cost: OPEN open tickets with running clocks, DUE of them past due.
    SlaScan {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 10000)]
        open: i64,
        #[arg(long, default_value_t = 1000)]
        due: i64,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// SLA timer lateness on the system clock: K clocks due over SPREAD seconds.
    SlaLateness {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 500)]
        k: i64,
        #[arg(long, default_value_t = 10)]
        spread: i64,
    },
    /// Insert N tickets' rows directly; prints tickets/s.
    RawInsert {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 20000)]
        n: usize,
    },
    /// Store a generated corpus of N mixed e-mails in-process and over HTTP; prints mails/s.
    Email {
        /// Database for the in-process run (fresh).
        #[arg(long)]
        url: String,
        /// Database for the HTTP run (fresh).
        #[arg(long)]
        http_url: String,
        #[arg(long, default_value_t = 10000)]
        n: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Insert N webhook acknowledgements' rows (inbound event + job) directly; prints acks/s.
    RawInbox {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 20000)]
        n: usize,
    },
    /// Write N signed Instagram DM webhook bodies (`signature<TAB>body` per line), each from a
    /// different citizen.
    MetaPayloads {
        #[arg(long, default_value_t = 50000)]
        n: usize,
        #[arg(long)]
        secret: String,
        #[arg(long, default_value = "17841400000000001")]
        account: String,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Run due jobs until none are left; prints how many ran and the rate.
    Drain {
        #[arg(long)]
        url: String,
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
        Cmd::SlaScan { url, open, due, runs } => sla::scan(&url, open, due, runs),
        Cmd::SlaLateness { url, k, spread } => actix_web::rt::System::new().block_on(sla::lateness(&url, k, spread)),
        Cmd::Email {
            url,
            http_url,
            n,
            concurrency,
        } => email::run(&url, &http_url, n, concurrency),
        Cmd::RawInbox { url, n } => raw_inbox(&url, n),
        Cmd::MetaPayloads {
            n,
            secret,
            account,
            out,
        } => meta_payloads(n, &secret, &account, &out),
        Cmd::Drain { url } => actix_web::rt::System::new().block_on(drain(url)),
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
    let ctx = open(url)?;
    let mut conn = ctx.db.write_conn()?;
    let tz = ctx.settings.tickets.timezone;
    let start = Instant::now();
    for i in 0..n {
        tanggap::db::write_tx(&mut conn, |c| {
            let now = chrono::Utc::now();
            let ts = now.naive_utc();
            let phone =
                Identity::parse(IdentityKind::Phone, &format!("0813{i:08}")).map_err(|e| anyhow_to_diesel(&e))?;
            let (contact, _) = tanggap::contacts::repo::find_or_create(c, "Warga", &phone, ts, false)?;
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
                // One statement per row, as written before events were deferred: the baseline
                // stays comparable across runs.
                diesel::RunQueryDsl::execute(
                    diesel::insert_into(tanggap::db::schema::ticket_events::table).values(&NewEvent {
                        ticket_id: t.id,
                        actor_kind: "system",
                        actor_id: None,
                        kind,
                        before_value: None,
                        after_value: Some(format!("{{\"message_id\":{}}}", m.id)),
                        created_at: ts,
                    }),
                    c,
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

fn open(url: &str) -> anyhow::Result<AppContext> {
    let mut settings = Settings::defaults();
    settings.database.url = Secret::new(url);
    settings.jobs.batch_size = 64;
    let ctx = AppContext::open(settings)?;
    tanggap::startup::migrate(&ctx)?;
    Ok(ctx)
}

fn raw_inbox(url: &str, n: usize) -> anyhow::Result<()> {
    let ctx = open(url)?;
    let mut conn = ctx.db.write_conn()?;
    let body = dm_body(0, "17841400000000001");
    let start = Instant::now();
    for _ in 0..n {
        tanggap::db::write_tx(&mut conn, |c| {
            let now = chrono::Utc::now().naive_utc();
            let id = inbox::insert(c, "instagram", body.as_bytes(), now)?;
            inbox::enqueue_processing(c, &ctx.settings, id, now)
        })?;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "raw_inbox events={n} seconds={secs:.3} acks_per_sec={:.0}",
        n as f64 / secs
    );
    Ok(())
}

/// A direct message as Meta sends it (compact, non-ASCII escaped), from citizen `i`.
fn dm_body(i: usize, account: &str) -> String {
    let sender = 8_000_000_000_000_000u64 + i as u64;
    let ts = 1_786_600_000_000u64 + i as u64;
    format!(
        "{{\"object\":\"instagram\",\"entry\":[{{\"time\":{ts},\"id\":\"{account}\",\"messaging\":[{{\
         \"sender\":{{\"id\":\"{sender}\"}},\"recipient\":{{\"id\":\"{account}\"}},\"timestamp\":{ts},\
         \"message\":{{\"mid\":\"bench-mid-{i:08}\",\"text\":\"Lampu PJU di gang {i} mati sejak kemarin, \
         mohon dicek \\ud83d\\ude4f\"}}}}]}}]}}"
    )
}

fn meta_payloads(n: usize, secret: &str, account: &str, out: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(out)?);
    for i in 0..n {
        let body = dm_body(i, account);
        writeln!(f, "{}\t{body}", sign(secret, body.as_bytes()))?;
    }
    f.flush()?;
    Ok(())
}

async fn drain(url: String) -> anyhow::Result<()> {
    use diesel::prelude::*;
    let ctx = open(&url)?;
    let count = || -> anyhow::Result<i64> {
        let mut conn = ctx.db.read_conn()?;
        Ok(tanggap::db::schema::tickets::table.count().get_result(&mut conn)?)
    };
    let before = count()?;
    let start = Instant::now();
    let mut ran = 0;
    loop {
        let n = tanggap::jobs::runner::run_once(&ctx, "bench-drain").await?;
        if n == 0 {
            break;
        }
        ran += n;
    }
    let secs = start.elapsed().as_secs_f64();
    let tickets = count()? - before;
    println!(
        "drain jobs={ran} tickets={tickets} seconds={secs:.3} jobs_per_sec={:.0} tickets_per_sec={:.0}",
        ran as f64 / secs.max(1e-9),
        tickets as f64 / secs.max(1e-9)
    );
    Ok(())
}

fn anyhow_to_diesel(e: &str) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(e.to_string().into())
}
