//! `tanggap-bench sla-scan` and `sla-lateness` (docs/performance.md):
//! * scan cost: N open tickets each with a running clock not yet due, plus D clocks past due; times
//!   one timer scan that claims and fires the D (median of several, the D reset between runs). The
//!   scan reads the partial index on `next_fire_at`, so N should not matter.
//! * lateness: the real timer loop on the system clock; K clocks due at spread instants over the
//!   next seconds, written through the app's write path; reports how late each fired (p50/p99/max).

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use tanggap::clock::FakeClock;
use tanggap::config::{Secret, Settings};
use tanggap::context::AppContext;
use tanggap::db::DbConnection;

fn settings(url: &str, batch: u32) -> Settings {
    let mut s = Settings::defaults();
    s.database.url = Secret::new(url);
    s.sla.batch_size = batch;
    s
}

fn ts(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// Inserts `n` open tickets (ids from `first`) and one running clock each; the clock of ticket i
/// next fires at `base + offset(i)` seconds.
fn seed(
    conn: &mut DbConnection,
    first: i64,
    n: i64,
    base: &str,
    offset_sql: &str,
    since_sql: &str,
) -> anyhow::Result<()> {
    let pg = matches!(conn, DbConnection::Postgresql(_));
    let (series, add) = if pg {
        (
            format!("SELECT generate_series({first}, {}) AS i", first + n - 1),
            "'{base}'::timestamp + (({x}) * interval '1 second')",
        )
    } else {
        (
            format!(
                "WITH RECURSIVE s(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM s WHERE i < {}) SELECT i FROM s",
                first + n - 1
            ),
            "strftime('%Y-%m-%d %H:%M:%f', '{base}', ({x}) || ' seconds')",
        )
    };
    let at = |x: &str| add.replace("{base}", base).replace("{x}", x);
    conn.batch_execute(&format!(
        "INSERT INTO tickets (id, number, access_token_hash, subject, status, priority, channel, contact_id, language, created_at, updated_at)
         SELECT i, 'B' || i, 'x', 'bench', 'open', 'normal', 'phone', 1, 'id', {now}, {now} FROM ({series}) q;
         INSERT INTO sla_clocks (ticket_id, kind, cycle, policy_name, policy_version, target_secs, target_text, remaining_secs,
             running_since, due_at, next_fire_at, warn_percents, warned, breached, state, started_at)
         SELECT i, 'resolution', 1, 'bench', 1, 86400, '1d', 86400, {since}, {fire}, {fire}, '[]', 0, {f}, 'running', {since}
         FROM ({series}) q;",
        now = at("0"),
        since = at(since_sql),
        fire = at(offset_sql),
        f = if pg { "FALSE" } else { "0" },
    ))?;
    Ok(())
}

/// `sla-scan`: prints the median scan time for `due` due clocks among `open` open tickets.
pub fn scan(url: &str, open: i64, due: i64, runs: usize) -> anyhow::Result<()> {
    let base = Utc::now();
    let clock = Arc::new(FakeClock::new(base));
    let s = settings(url, due as u32);
    let ctx = AppContext::with_clock(s.clone(), tanggap::db::Db::connect(&s.database)?, clock)?;
    tanggap::startup::migrate(&ctx)?;
    let mut conn = ctx.db.write_conn()?;
    diesel::sql_query("INSERT INTO contacts (id, name, created_at, updated_at) VALUES (1, 'bench', '2026-01-01 00:00:00', '2026-01-01 00:00:00')")
        .execute(&mut *conn)?;
    let b = ts(base);
    let started = Instant::now();
    // Not due: spread over the next 1 to 28 hours.
    seed(&mut conn, 1, open, &b, "86400 - 3600 * 23 + (i % 100000)", "-3600")?;
    // Due: breached a minute ago (a day's target started a day and a minute ago).
    seed(&mut conn, open + 1, due, &b, "-60", "-86460")?;
    if matches!(&*conn, DbConnection::Postgresql(_)) {
        conn.batch_execute("ANALYZE tickets; ANALYZE sla_clocks;")?;
    }
    eprintln!(
        "seeded {open} open + {due} due in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop(conn);
    let mut times = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let report = ctx
            .write_blocking(|conn| tanggap::sla::timers::scan_in_tx(&ctx, conn, base, "bench"))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(report.fired as i64 == due, "fired {} of {due}", report.fired);
        // Put the due clocks back for the next run.
        let mut conn = ctx.db.write_conn()?;
        conn.batch_execute(&format!(
            "DELETE FROM sla_notifications; DELETE FROM sla_firings; DELETE FROM ticket_events;
             UPDATE sla_clocks SET breached = {f}, warned = 0, next_fire_at = due_at WHERE ticket_id > {open};",
            f = if matches!(&*conn, DbConnection::Postgresql(_)) {
                "FALSE"
            } else {
                "0"
            }
        ))?;
    }
    times.sort_by(f64::total_cmp);
    println!(
        "sla-scan open={open} due={due} runs={runs} median_ms={:.1} min_ms={:.1} per_clock_ms={:.3}",
        times[times.len() / 2],
        times[0],
        times[times.len() / 2] / due as f64
    );
    Ok(())
}

/// `sla-lateness`: the timer loop on the system clock; `k` clocks due over the next `spread` seconds.
pub async fn lateness(url: &str, k: i64, spread: i64) -> anyhow::Result<()> {
    let s = settings(url, 500);
    let ctx = AppContext::new(s.clone(), tanggap::db::Db::connect(&s.database)?)?;
    tanggap::startup::migrate(&ctx)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let timer = tokio::spawn(tanggap::sla::timers::run(ctx.clone(), stop_rx));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let base = Utc::now() + Duration::seconds(1);
    let b = ts(base);
    // Clock i is due at base + (i * spread / k) seconds (sub-second steps).
    let offset = format!("(i - 1) * {spread}.0 / {k}");
    ctx.write(move |conn| {
        diesel::sql_query("INSERT INTO contacts (id, name, created_at, updated_at) VALUES (1, 'bench', '2026-01-01 00:00:00', '2026-01-01 00:00:00')")
            .execute(conn)?;
        seed(conn, 1, k, &b, &format!("{offset} - 86400 + 86400"), &format!("{offset} - 86400"))
            .map_err(|e| tanggap::error::AppError::internal(e.to_string()))?;
        Ok(())
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    tokio::time::sleep(std::time::Duration::from_secs(spread as u64 + 4)).await;
    let _ = stop_tx.send(true);
    let _ = timer.await;
    let mut conn = ctx.db.read_conn()?;
    let rows: Vec<(chrono::NaiveDateTime, chrono::NaiveDateTime)> = {
        use diesel::prelude::*;
        use tanggap::db::schema::sla_firings as f;
        f::table.select((f::fired_at, f::due_at)).load(&mut *conn)?
    };
    let mut late: Vec<f64> = rows
        .iter()
        .map(|(fired, due)| (*fired - *due).num_milliseconds() as f64)
        .collect();
    anyhow::ensure!(late.len() as i64 == k, "fired {} of {k}", late.len());
    late.sort_by(f64::total_cmp);
    let pct = |p: f64| late[((late.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "sla-lateness clocks={k} spread_s={spread} p50_ms={:.0} p99_ms={:.0} max_ms={:.0}",
        pct(0.5),
        pct(0.99),
        late[late.len() - 1]
    );
    Ok(())
}
