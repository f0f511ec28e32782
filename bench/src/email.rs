//! `tanggap-bench email`: a generated corpus of mixed citizen mail (new complaints in plain text
//! and multipart/HTML with an attachment, replies threaded by In-Reply-To, re-deliveries, mail
//! without a Message-ID, out-of-office auto-replies), stored once through the in-process inbound
//! pipeline (what `ingest-email` and the IMAP poller run) and once through
//! `POST /api/v1/channels/email/inbound`, each on a fresh database. Prints mails/s for both.

use std::net::TcpListener;
use std::time::Instant;

use futures_util::StreamExt;
use tanggap::config::{Secret, Settings};
use tanggap::context::AppContext;

const TOKEN: &str = "bench-inbound-token-0123456789";

/// The corpus: deterministic, `n` mails.
pub fn corpus(n: usize) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(n);
    let mut new_ids: Vec<(String, String)> = Vec::new();
    for i in 0..n {
        let mail = match i % 20 {
            // 15% replies to an earlier complaint of the same citizen.
            0..=2 if !new_ids.is_empty() => {
                let (from, parent) = &new_ids[(i * 7919) % new_ids.len()];
                format!(
                    "From: Warga <{from}>\r\nTo: pengaduan@pemkot.example\r\nSubject: Re: Laporan\r\nMessage-ID: <r{i}@mail.example>\r\nIn-Reply-To: <{parent}>\r\nReferences: <{parent}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMasih belum ditangani, mohon dicek.\r\n\r\nPada Kam, 13 Agu 2026 pukul 10.05 Layanan <pengaduan@pemkot.example> menulis:\r\n> Laporan Anda kami terima.\r\n"
                )
            }
            // 5% re-deliveries of an earlier mail.
            3 if !out.is_empty() => String::from_utf8_lossy(&out[(i * 31) % out.len()]).into_owned(),
            // 10% out-of-office auto-replies.
            4 | 5 => format!(
                "From: Pegawai <pegawai{i}@dinas.example>\r\nTo: pengaduan@pemkot.example\r\nSubject: Balasan Otomatis: Laporan\r\nMessage-ID: <ooo{i}@dinas.example>\r\nAuto-Submitted: auto-replied\r\nReturn-Path: <>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSaya sedang cuti.\r\n"
            ),
            // 5% without a Message-ID.
            6 => format!(
                "From: Warga <tanpa{i}@mail.example>\r\nTo: pengaduan@pemkot.example\r\nSubject: Laporan {i}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nJalan rusak nomor {i}.\r\n"
            ),
            // 15% multipart/alternative with HTML and an inline image.
            7..=9 => {
                let from = format!("html{i}@mail.example");
                new_ids.push((from.clone(), format!("h{i}@mail.example")));
                format!(
                    "From: =?UTF-8?Q?Ketua_RT_05_=E2=80=93_Warga?= <{from}>\r\nTo: pengaduan@pemkot.example\r\nSubject: =?UTF-8?B?SmFsYW4gYmVybHViYW5n?= {i}\r\nMessage-ID: <h{i}@mail.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nJalan berlubang \u{b1} 40 cm di depan halte.\r\n--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Jalan berlubang <b>\u{b1} 40 cm</b> di depan halte.</p><script>x()</script>\r\n--a--\r\n--m\r\nContent-Type: image/png; name=\"foto.png\"\r\nContent-Disposition: attachment; filename=\"foto.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\r\n--m--\r\n"
                )
            }
            // The rest: plain new complaints from distinct citizens.
            _ => {
                let from = format!("warga{i}@mail.example");
                new_ids.push((from.clone(), format!("n{i}@mail.example")));
                format!(
                    "From: Warga {i} <{from}>\r\nTo: pengaduan@pemkot.example\r\nSubject: Sampah menumpuk di RT {i}\r\nMessage-ID: <n{i}@mail.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSampah sudah lima hari tidak diangkut.\r\n\r\n-- \r\nWarga {i}\r\n"
                )
            }
        };
        out.push(mail.into_bytes());
    }
    out
}

fn context(url: &str) -> anyhow::Result<AppContext> {
    let mut settings = Settings::defaults();
    settings.database.url = Secret::new(url);
    settings.email.inbound_token = Secret::new(TOKEN);
    settings.email.from = "Layanan <pengaduan@pemkot.example>".into();
    // Every citizen in the corpus gets an acknowledgement queued, as in production.
    settings.email.acks_per_hour = 1000;
    let ctx = AppContext::open(settings)?;
    tanggap::startup::migrate(&ctx)?;
    Ok(ctx)
}

pub fn run(in_process_url: &str, http_url: &str, n: usize, concurrency: usize) -> anyhow::Result<()> {
    let mails = corpus(n);
    let bytes: usize = mails.iter().map(Vec::len).sum();
    println!("email_corpus mails={n} bytes={bytes} concurrency={concurrency}");
    actix_web::rt::System::new().block_on(async move {
        let ctx = context(in_process_url)?;
        let start = Instant::now();
        let results: Vec<_> = futures_util::stream::iter(mails.clone())
            .map(|raw| {
                let ctx = ctx.clone();
                async move { tanggap::email::ingest(&ctx, raw).await }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let secs = start.elapsed().as_secs_f64();
        let failed = results.iter().filter(|r| r.is_err()).count();
        println!(
            "email_in_process mails={n} seconds={secs:.3} mails_per_sec={:.0} failed={failed}",
            n as f64 / secs
        );

        let ctx = context(http_url)?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let app = tanggap::startup::Application::build(ctx, listener)?;
        let url = format!("http://127.0.0.1:{}/api/v1/channels/email/inbound", app.port());
        actix_web::rt::spawn(app.server());
        let client = reqwest::Client::new();
        let start = Instant::now();
        let statuses: Vec<u16> = futures_util::stream::iter(mails)
            .map(|raw| {
                let (client, url) = (client.clone(), url.clone());
                async move {
                    match client.post(&url).bearer_auth(TOKEN).body(raw).send().await {
                        Ok(r) => r.status().as_u16(),
                        Err(_) => 0,
                    }
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let secs = start.elapsed().as_secs_f64();
        let non_2xx = statuses.iter().filter(|s| !(200..300).contains(*s)).count();
        println!(
            "email_http mails={n} seconds={secs:.3} mails_per_sec={:.0} non_2xx={non_2xx}",
            n as f64 / secs
        );
        Ok(())
    })
}
