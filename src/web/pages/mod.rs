//! Server-rendered pages for citizens: the status page behind the `status_url` a citizen is given
//! (`/status/{number}?token=…`) and a small form at `/status` to get there by typing the number
//! and access token. They use the same lookup, rate limit and not-found rule as
//! `GET /api/v1/public/tickets/{number}`. Plain HTML with inline CSS: no JavaScript, no external
//! assets, nothing cached, and no `Referer` leaving the page (the token is in the URL).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;

use crate::config::Settings;
use crate::error::AppError;
use crate::tickets::numbering::looks_like_number;
use crate::tickets::public::{Party, PublicTicket, TimelineEntry};
use crate::tickets::{Channel, Status};
use crate::web::Ctx;
use crate::web::api::public::lookup;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/status", web::get().to(get_status_form))
        .route("/status/{number}", web::get().to(get_status_page));
}

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; \
                   frame-ancestors 'none'";

#[derive(Template)]
#[template(path = "lookup.html", config = "src/web/pages/askama.toml")]
struct LookupPage<'a> {
    base: &'a str,
    number: String,
    errors: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "problem.html", config = "src/web/pages/askama.toml")]
struct ProblemPage<'a> {
    base: &'a str,
    title: &'static str,
    message: &'static str,
    show_form: bool,
    number: String,
}

#[derive(Template)]
#[template(path = "status.html", config = "src/web/pages/askama.toml")]
struct StatusPage<'a> {
    base: &'a str,
    number: String,
    subject: String,
    status_class: &'static str,
    status_label: &'static str,
    status_help: String,
    channel: &'static str,
    created: String,
    updated: String,
    entries: Vec<Entry>,
}

struct Entry {
    class: &'static str,
    who: &'static str,
    when: String,
    text: String,
}

/// Status names as citizens read them.
pub fn status_label(status: Status) -> &'static str {
    match status {
        Status::New => "Baru",
        Status::Open => "Diproses",
        Status::Pending => "Menunggu tanggapan Anda",
        Status::OnHold => "Menunggu pihak lain",
        Status::Resolved => "Selesai",
        Status::Closed => "Ditutup",
    }
}

fn status_help(status: Status, settings: &Settings) -> String {
    match status {
        Status::New => "Pengaduan Anda sudah tercatat dan menunggu ditangani petugas.".into(),
        Status::Open => "Petugas sedang menangani pengaduan Anda.".into(),
        Status::Pending => "Petugas menunggu jawaban atau data dari Anda. Balas melalui saluran yang sama dengan \
                            saat Anda mengirim pengaduan."
            .into(),
        Status::OnHold => {
            "Pengaduan Anda sedang menunggu tindak lanjut dari pihak lain, misalnya instansi terkait.".into()
        }
        Status::Resolved => {
            let hours = settings.tickets.reopen_window_hours;
            let window = if hours >= 48 && hours.is_multiple_of(24) {
                format!("{} hari", hours / 24)
            } else {
                format!("{hours} jam")
            };
            format!(
                "Pengaduan Anda sudah diselesaikan. Jika masalahnya belum beres, balas melalui saluran yang sama \
                 dalam {window} dan pengaduan akan dibuka kembali."
            )
        }
        Status::Closed => "Pengaduan ini sudah ditutup. Jika ada masalah baru, silakan kirim pengaduan baru.".into(),
    }
}

fn channel_label(channel: &str) -> &'static str {
    match Channel::parse(channel) {
        Some(Channel::Email) => "Email",
        Some(Channel::Phone) => "Telepon",
        Some(Channel::Instagram) => "Instagram",
        Some(Channel::Whatsapp) => "WhatsApp",
        Some(Channel::Chat) => "Obrolan langsung",
        Some(Channel::Web) => "Formulir web",
        None => "Lainnya",
    }
}

const MONTHS: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

/// `30 November 2026, 14.05 WIB` in the programme's time zone.
pub fn format_time(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    let local = at.with_timezone(&tz);
    let month = MONTHS[local.month0() as usize];
    format!("{} {month} {}, {}", local.day(), local.year(), local.format("%H.%M %Z"))
}

fn status_page<'a>(base: &'a str, t: &PublicTicket, settings: &Settings) -> StatusPage<'a> {
    let tz = settings.tickets.timezone;
    let status = Status::parse(&t.status);
    let entries = t
        .timeline
        .iter()
        .map(|e| match e {
            TimelineEntry::Message { from, text, at } => Entry {
                class: if *from == Party::Citizen { "citizen" } else { "agent" },
                who: if *from == Party::Citizen { "Anda" } else { "Petugas" },
                when: format_time(*at, tz),
                text: text.clone(),
            },
            TimelineEntry::Status { status, at } => Entry {
                class: "status",
                who: "Status diperbarui",
                when: format_time(*at, tz),
                text: format!("Menjadi: {}", status.map(status_label).unwrap_or("tidak diketahui")),
            },
        })
        .collect();
    StatusPage {
        base,
        number: t.number.clone(),
        subject: t.subject.clone(),
        status_class: status.map(Status::as_str).unwrap_or("unknown"),
        status_label: status.map(status_label).unwrap_or("Tidak diketahui"),
        status_help: status.map(|s| status_help(s, settings)).unwrap_or_default(),
        channel: channel_label(&t.channel),
        created: format_time(t.created_at, tz),
        updated: format_time(t.updated_at, tz),
        entries,
    }
}

/// Path prefix of the public URL (empty when served at the root), for links and the form.
pub(crate) fn base(settings: &Settings) -> &str {
    settings.server.public_url.path().trim_end_matches('/')
}

pub(crate) fn html(status: StatusCode, rendered: Result<String, askama::Error>) -> HttpResponse {
    let body = match rendered {
        Ok(body) => body,
        Err(e) => {
            log::error!("rendering a page failed: {e}");
            return with_headers(&mut HttpResponse::InternalServerError())
                .content_type("text/plain; charset=utf-8")
                .body("Terjadi kesalahan. Silakan coba lagi.");
        }
    };
    let mut resp = HttpResponse::build(status);
    with_headers(&mut resp)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

fn with_headers(resp: &mut actix_web::HttpResponseBuilder) -> &mut actix_web::HttpResponseBuilder {
    resp.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .insert_header((header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
}

fn problem(settings: &Settings, err: &AppError, number: &str) -> HttpResponse {
    let (title, message, show_form) = match err {
        AppError::NotFound => (
            "Pengaduan tidak ditemukan",
            "Nomor tiket atau kode akses tidak cocok. Periksa kembali keduanya, lalu coba lagi.",
            true,
        ),
        AppError::RateLimited => (
            "Terlalu banyak percobaan",
            "Anda sudah terlalu sering mencoba dalam waktu singkat. Silakan tunggu satu menit, lalu coba lagi.",
            false,
        ),
        AppError::Unavailable(detail) => {
            log::warn!("status page unavailable: {detail}");
            (
                "Layanan sedang sibuk",
                "Status pengaduan tidak dapat ditampilkan saat ini. Silakan coba lagi sebentar lagi.",
                false,
            )
        }
        other => {
            log::error!("status page failed: {other}");
            (
                "Terjadi kesalahan",
                "Status pengaduan tidak dapat ditampilkan saat ini. Silakan coba lagi nanti.",
                false,
            )
        }
    };
    let status = match err {
        AppError::NotFound => StatusCode::NOT_FOUND,
        AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let page = ProblemPage {
        base: base(settings),
        title,
        message,
        show_form,
        number: if looks_like_number(number) {
            number.to_string()
        } else {
            String::new()
        },
    };
    let mut resp = html(status, page.render());
    if status == StatusCode::TOO_MANY_REQUESTS {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    }
    resp
}

#[derive(Default, Deserialize)]
struct StatusQuery {
    number: Option<String>,
    token: Option<String>,
}

/// The status page: `GET /status/{number}?token=…`.
async fn get_status_page(ctx: Ctx, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let number = path.into_inner();
    // A malformed query string is just a missing token: the same not-found page.
    let token = web::Query::<StatusQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().token)
        .unwrap_or_default();
    match lookup(&ctx, &req, number.clone(), token).await {
        Ok(ticket) => html(
            StatusCode::OK,
            status_page(base(&ctx.settings), &ticket, &ctx.settings).render(),
        ),
        Err(e) => problem(&ctx.settings, &e, &number),
    }
}

/// The form: `GET /status` shows it; submitted (`?number=…&token=…`) it redirects to the page.
async fn get_status_form(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let q = web::Query::<StatusQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    let base = base(&ctx.settings);
    if q.number.is_none() && q.token.is_none() {
        let page = LookupPage {
            base,
            number: String::new(),
            errors: Vec::new(),
        };
        return html(StatusCode::OK, page.render());
    }
    // Numbers are read out over the phone and typed with spaces or dashes; the token's own
    // spelling rules are applied by the lookup.
    let number: String = q
        .number
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '.')
        .collect();
    let token = q.token.unwrap_or_default().trim().to_string();
    let mut errors = Vec::new();
    if !looks_like_number(&number) {
        errors.push("Nomor tiket terdiri dari 10 sampai 16 angka, misalnya 2611300017.");
    }
    if token.is_empty() {
        errors.push("Masukkan kode akses yang Anda terima saat pengaduan dicatat.");
    } else if token.len() > 64 {
        errors.push("Kode akses terlalu panjang. Periksa kembali kode yang Anda terima.");
    }
    if !errors.is_empty() {
        let number = if number.len() <= 32 { number } else { String::new() };
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            LookupPage { base, number, errors }.render(),
        );
    }
    let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    let mut resp = HttpResponse::SeeOther();
    with_headers(&mut resp)
        .insert_header((header::LOCATION, format!("{base}/status/{number}?token={token}")))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
            .and_then(|d| d.and_hms_opt(h, m, 0))
            .unwrap()
            .and_utc()
    }

    fn ticket(subject: &str, text: &str) -> PublicTicket {
        PublicTicket {
            number: "2611300017".into(),
            subject: subject.into(),
            status: "pending".into(),
            channel: "instagram".into(),
            created_at: at(7, 5),
            updated_at: at(8, 0),
            timeline: vec![
                TimelineEntry::Message {
                    from: Party::Citizen,
                    text: text.into(),
                    at: at(7, 5),
                },
                TimelineEntry::Status {
                    status: Some(Status::Pending),
                    at: at(8, 0),
                },
            ],
        }
    }

    #[test]
    fn citizen_text_is_escaped() {
        let settings = Settings::defaults();
        let t = ticket(
            "<script>alert(1)</script> Jalan \"rusak\"",
            "Lihat <img src=x onerror=alert(1)> & 'segera'",
        );
        let page = status_page("", &t, &settings).render().unwrap();
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(
            page.contains("&#60;script&#62;") || page.contains("&lt;script&gt;"),
            "{page}"
        );
        assert!(page.contains("&#38;") || page.contains("&amp;"), "{page}");
        assert!(!page.contains("<script"), "no script of our own either");
    }

    #[test]
    fn status_page_speaks_indonesian() {
        let settings = Settings::defaults();
        let page = status_page("", &ticket("Lampu jalan mati", "Gelap"), &settings)
            .render()
            .unwrap();
        assert!(page.contains("Menunggu tanggapan Anda"), "{page}");
        assert!(page.contains("Nomor tiket"), "{page}");
        assert!(page.contains("2611300017"), "{page}");
        assert!(page.contains("Instagram"), "{page}");
        // 07:05 UTC is 14.05 in Jakarta.
        assert!(page.contains("30 November 2026, 14.05 WIB"), "{page}");
        assert!(page.contains("lang=\"id\""), "{page}");
    }

    #[test]
    fn labels_cover_every_status() {
        let labels: Vec<&str> = Status::ALL.into_iter().map(status_label).collect();
        assert_eq!(
            labels,
            [
                "Baru",
                "Diproses",
                "Menunggu tanggapan Anda",
                "Menunggu pihak lain",
                "Selesai",
                "Ditutup"
            ]
        );
        let settings = Settings::defaults();
        assert!(status_help(Status::Resolved, &settings).contains("7 hari"));
    }

    #[test]
    fn form_and_not_found_render() {
        let form = LookupPage {
            base: "",
            number: "\"><b>x".into(),
            errors: vec!["Nomor tiket terdiri dari 10 sampai 16 angka, misalnya 2611300017."],
        }
        .render()
        .unwrap();
        assert!(form.contains("action=\"/status\""), "{form}");
        assert!(!form.contains("<b>x"), "{form}");
        let resp = problem(&Settings::defaults(), &AppError::NotFound, "2611300017");
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(resp.headers().get("referrer-policy").unwrap(), "no-referrer");
        assert_eq!(resp.headers().get("cache-control").unwrap(), "no-store");
        let resp = problem(&Settings::defaults(), &AppError::RateLimited, "x");
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers().get("retry-after").unwrap(), "60");
    }
}
