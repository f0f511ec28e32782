//! The SLA admin pages through HTTP: sign-in, role checks, CSRF, a policy created through the form
//! and read back through the API, field errors on the page, calendar upload, the due calculator.

use reqwest::header::{CONTENT_TYPE, LOCATION, ORIGIN};
use serde_json::{Value, json};

use crate::helpers::TestApp;

const PASSWORD: &str = "rahasia-sekali-123";

/// Gives the seeded user a password (the test users have none).
async fn with_password(app: &TestApp, email: &'static str) {
    let hash = tanggap::auth::hash_password(PASSWORD).expect("hash");
    app.ctx
        .write(move |conn| {
            let u = tanggap::auth::repo::find_user_by_email(conn, email)?.expect("user");
            tanggap::auth::repo::set_password(conn, u.id, &hash)?;
            Ok(())
        })
        .await
        .expect("set password");
}

/// A browser: keeps cookies, does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn page(b: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String, Option<String>) {
    let r = b.get(app.url(path)).send().await.expect("get");
    let status = r.status().as_u16();
    let location = r.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_string());
    (status, r.text().await.expect("body"), location)
}

async fn post_form(
    b: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String, Option<String>) {
    let r = b.post(app.url(path)).form(form).send().await.expect("post");
    let status = r.status().as_u16();
    let location = r.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_string());
    (status, r.text().await.expect("body"), location)
}

async fn sign_in(app: &TestApp, email: &'static str) -> reqwest::Client {
    with_password(app, email).await;
    let b = browser();
    let (s, _, loc) = post_form(
        &b,
        app,
        "/admin/login",
        &[
            ("email", email),
            ("password", PASSWORD),
            ("next", "/admin/sla/policies"),
        ],
    )
    .await;
    assert_eq!((s, loc.as_deref()), (303, Some("/admin/sla/policies")));
    b
}

fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("csrf field") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

async fn csrf(b: &reqwest::Client, app: &TestApp) -> String {
    let (s, html, _) = page(b, app, "/admin/sla/policies").await;
    assert_eq!(s, 200, "{html}");
    csrf_in(&html)
}

/// A multipart body with the token, one file and a calendar choice.
fn upload(csrf: &str, filename: &str, content: &str, calendar: &str) -> (String, String) {
    let boundary = "----tanggap-test-7f3a";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"calendar\"\r\n\r\n{calendar}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n{content}\r\n\
         --{boundary}--\r\n"
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_upload(b: &reqwest::Client, app: &TestApp, body: (String, String)) -> (u16, String, Option<String>) {
    let r = b
        .post(app.url("/admin/sla/calendars/import"))
        .header(CONTENT_TYPE, body.0)
        .body(body.1)
        .send()
        .await
        .expect("upload");
    let status = r.status().as_u16();
    let location = r.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_string());
    (status, r.text().await.expect("body"), location)
}

const CALENDAR_TOML: &str = r#"name = "jakarta-cc"
timezone = "Asia/Jakarta"
holidays = [{ date = "2026-12-25", name = "Natal" }]
[hours]
mon = ["08:00-12:00", "13:00-17:00"]
tue = ["08:00-12:00", "13:00-17:00"]
wed = ["08:00-12:00", "13:00-17:00"]
thu = ["08:00-12:00", "13:00-17:00"]
fri = ["08:00-12:00", "13:00-17:00"]
sat = ["22:00-06:00"]
"#;

fn policy_form<'a>(csrf: &'a str, name: &'a str, targets: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("name", name),
        ("position", "20"),
        (
            "conditions",
            r#"{"priority": ["high", "urgent"], "contact": {"segment": "vip"}}"#,
        ),
        ("targets", targets),
        ("stages", "[]"),
        ("pause", r#"{"pending": ["resolution"]}"#),
        ("warn_at", "75, 90"),
        ("escalation", "[]"),
        ("close_days", "10"),
        ("close_calendar", "jakarta-cc"),
    ]
}

async fn policies(app: &TestApp) -> Vec<Value> {
    let (s, b) = app.get(&app.agent_token, "/api/v1/sla/policies").await;
    assert_eq!(s, 200);
    b["items"].as_array().unwrap().clone()
}

crate::both_backends! {
    async fn admin_pages_sign_in_check_roles_and_csrf_and_manage_policies_and_calendars(app) {
        // Not signed in: every page sends the browser to the login form, with the way back.
        let anon = browser();
        let (s, _, loc) = page(&anon, &app, "/admin/sla/calendars").await;
        assert_eq!((s, loc.as_deref()), (303, Some("/admin/login?next=/admin/sla/calendars")));
        let (s, _, loc) = post_form(&anon, &app, "/admin/sla/policies", &[("name", "x")]).await;
        assert_eq!((s, loc.unwrap().starts_with("/admin/login")), (303, true));
        let (s, html, _) = page(&anon, &app, "/admin/login").await;
        assert!(s == 200 && html.contains("name=\"password\""), "{html}");
        let (s, html, _) = post_form(&anon, &app, "/admin/login", &[("email", "admin@pemkot.example"), ("password", "salah-salah-salah")]).await;
        assert!(s == 401 && html.contains("Wrong e-mail or password"), "{s} {html}");
        // A login form posted from another site is refused.
        with_password(&app, "admin@pemkot.example").await;
        let r = anon.post(app.url("/admin/login")).header(ORIGIN, "https://evil.example")
            .form(&[("email", "admin@pemkot.example"), ("password", PASSWORD)]).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 403);
        // A way back outside the admin pages is ignored.
        let (s, _, loc) = post_form(&anon, &app, "/admin/login", &[("email", "admin@pemkot.example"), ("password", PASSWORD), ("next", "//evil.example/")]).await;
        assert_eq!((s, loc.as_deref()), (303, Some("/admin/sla/policies")));

        let admin = sign_in(&app, "admin@pemkot.example").await;
        let token = csrf(&admin, &app).await;

        // Calendar upload: a TOML calendar, then a CSV holiday list into it.
        let (s, html, loc) = post_upload(&admin, &app, upload(&token, "jakarta.toml", CALENDAR_TOML, "")).await;
        assert_eq!(s, 303, "{html}");
        let cal_page = loc.unwrap();
        assert!(cal_page.starts_with("/admin/sla/calendars/"), "{cal_page}");
        let (s, _, _) = post_upload(&admin, &app, upload(&token, "cuti.csv", "date,name\n2026-12-24,Cuti bersama\n", "jakarta-cc")).await;
        assert_eq!(s, 303);
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270101\r\nSUMMARY:Tahun Baru\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let (s, _, _) = post_upload(&admin, &app, upload(&token, "libur-2027.ics", ics, "jakarta-cc")).await;
        assert_eq!(s, 303);
        let (s, html, _) = page(&admin, &app, &cal_page).await;
        assert_eq!(s, 200);
        assert!(html.contains("Asia/Jakarta") && html.contains("22:00-06:00") && html.contains("Natal") && html.contains("Cuti bersama"), "{html}");
        assert!(html.contains("2027-01-01") && html.contains("Tahun Baru") && html.contains("Holidays (3)"), "{html}");
        // A holiday list without a calendar to go to is an error on the page.
        let (s, html, _) = post_upload(&admin, &app, upload(&token, "cuti.csv", "2026-12-31\n", "")).await;
        assert!(s == 422 && html.contains("calendar: choose the calendar"), "{s} {html}");
        // A bad file is shown on the page with its error; a missing token is refused.
        let (s, html, _) = post_upload(&admin, &app, upload(&token, "x.toml", "name = \"x\"\ntimezone = \"Mars/Olympus\"\n[hours]\nmon = [\"08:00-12:00\"]\n", "")).await;
        assert!(s == 422 && html.contains("Mars/Olympus"), "{s} {html}");
        let (s, _, _) = post_upload(&admin, &app, upload("forged", "cuti.csv", "2026-12-31\n", "jakarta-cc")).await;
        assert_eq!(s, 403);

        // The due calculator: Fri 16:00 + 4 h = 1 h Friday + 3 h of the Saturday night shift.
        let (s, html, _) = page(&admin, &app, "/admin/sla/due?calendar=jakarta-cc&start=2026-12-04T16%3A00%3A00%2B07%3A00&target=4h").await;
        assert!(s == 200 && html.contains("2026-12-06T01:00:00+07:00") && html.contains("2026-12-05T22:00:00+07:00 .. 2026-12-06T01:00:00+07:00"), "{html}");
        let (s, html, _) = page(&admin, &app, "/admin/sla/due?calendar=jakarta-cc&start=2026-12-21T10%3A00%3A00%2B07%3A00&target=3d&business_days=on").await;
        assert!(s == 200 && html.contains("2026-12-27T06:00:00+07:00") && html.contains("working day 3: 2026-12-26"), "{html}");
        let (s, html, _) = page(&admin, &app, "/admin/sla/due?calendar=jakarta-cc&start=kemarin&target=4h").await;
        assert!(s == 422 && html.contains("start: "), "{html}");

        // A policy through the form: invalid JSON and an unknown clock come back as field errors.
        let (s, html, _) = page(&admin, &app, "/admin/sla/policies/new").await;
        assert!(s == 200 && html.contains("name=\"targets\""), "{html}");
        let (s, html, _) = post_form(&admin, &app, "/admin/sla/policies", &policy_form(&token, "pengaduan", r#"{"first_response": {"target": "4h""#)).await;
        assert!(s == 422 && html.contains("id=\"targets-error\"") && html.contains("not valid JSON"), "{s} {html}");
        assert!(html.contains("pengaduan"), "the form keeps what was typed");
        let (s, html, _) = post_form(&admin, &app, "/admin/sla/policies", &policy_form(&token, "pengaduan", r#"{"lunch": {"target": "4h"}}"#)).await;
        assert!(s == 422 && html.contains("id=\"targets-error\"") && html.contains("unknown clock"), "{s} {html}");
        let (s, html, _) = post_form(&admin, &app, "/admin/sla/policies", &policy_form(&token, "pengaduan", r#"{"resolution": {"target": "4h", "calendar": "nowhere"}}"#)).await;
        assert!(s == 422 && html.contains("nowhere"), "{s} {html}");
        // Without the token, or with another, nothing is created.
        let good = r#"{"first_response": {"target": "4h", "calendar": "jakarta-cc"}, "resolution": {"target": "3d", "business_days": true, "calendar": "jakarta-cc"}}"#;
        let mut forged = policy_form("", "pengaduan", good);
        forged.remove(0);
        let (s, _, _) = post_form(&admin, &app, "/admin/sla/policies", &forged).await;
        assert_eq!(s, 403);
        let (s, _, _) = post_form(&admin, &app, "/admin/sla/policies", &policy_form("0123abcd", "pengaduan", good)).await;
        assert_eq!(s, 403);
        assert!(policies(&app).await.is_empty());

        let (s, _, loc) = post_form(&admin, &app, "/admin/sla/policies", &policy_form(&token, "pengaduan", good)).await;
        assert_eq!((s, loc.as_deref()), (303, Some("/admin/sla/policies")));
        let items = policies(&app).await;
        assert_eq!(items.len(), 1);
        let p = &items[0];
        assert_eq!((p["name"].as_str(), p["position"].as_i64(), p["version"].as_i64()), (Some("pengaduan"), Some(20), Some(1)));
        assert_eq!(p["conditions"], json!({ "priority": ["high", "urgent"], "contact": { "segment": ["vip"] } }));
        assert_eq!(p["targets"]["resolution"], json!({ "target": "3d", "business_days": true, "calendar": "jakarta-cc" }));
        assert_eq!(p["close_after_silence"], json!({ "working_days": 10, "calendar": "jakarta-cc" }));
        assert_eq!(p["pause"], json!({ "pending": ["resolution"] }));
        let id = p["id"].as_i64().unwrap();
        let (s, html, _) = page(&admin, &app, "/admin/sla/policies").await;
        assert!(s == 200 && html.contains("pengaduan") && html.contains("10 working days on jakarta-cc"), "{html}");

        // Edit: the form shows the stored values; a change is version 2; the same name twice is refused.
        let (s, html, _) = page(&admin, &app, &format!("/admin/sla/policies/{id}")).await;
        assert!(s == 200 && html.contains("&#34;business_days&#34;: true") && html.contains("(v1)"), "{html}");
        let mut edit = policy_form(&token, "pengaduan", good);
        edit[7] = ("warn_at", "80");
        let (s, _, _) = post_form(&admin, &app, &format!("/admin/sla/policies/{id}"), &edit).await;
        assert_eq!(s, 303);
        let p = policies(&app).await[0].clone();
        assert_eq!((p["version"].as_i64(), p["warn_at"].clone()), (Some(2), json!([80])));
        let (s, _, _) = post_form(&admin, &app, "/admin/sla/policies", &policy_form(&token, "default", r#"{"resolution": {"target": "8h"}}"#)).await;
        assert_eq!(s, 303);
        let (s, html, _) = post_form(&admin, &app, "/admin/sla/policies", &policy_form(&token, "default", r#"{"resolution": {"target": "8h"}}"#)).await;
        assert!(s == 422 && html.contains("id=\"name-error\""), "{s} {html}");

        // Reorder and disable from the list. Both are at position 20; by id "pengaduan" is first.
        let names = |items: &[Value]| items.iter().map(|p| p["name"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        assert_eq!(names(&policies(&app).await), ["pengaduan", "default"]);
        let (s, _, _) = post_form(&admin, &app, &format!("/admin/sla/policies/{id}/move"), &[("csrf", &token), ("value", "down")]).await;
        assert_eq!(s, 303);
        let items = policies(&app).await;
        assert_eq!(names(&items), ["default", "pengaduan"]);
        assert_eq!((items[0]["position"].as_i64(), items[1]["position"].as_i64()), (Some(10), Some(20)));
        let (s, _, _) = post_form(&admin, &app, &format!("/admin/sla/policies/{id}/enabled"), &[("csrf", &token), ("value", "false")]).await;
        assert_eq!(s, 303);
        let p = policies(&app).await.into_iter().find(|p| p["id"] == id).unwrap();
        assert_eq!(p["disabled"], true);
        let (_, html, _) = page(&admin, &app, "/admin/sla/policies").await;
        assert!(html.contains("(disabled)"), "{html}");
        let (s, _, _) = post_form(&admin, &app, &format!("/admin/sla/policies/{id}/enabled"), &[("value", "true")]).await;
        assert_eq!(s, 403, "no token");

        // A supervisor may look but not change; an agent may not look.
        let sup = sign_in(&app, "supervisor@pemkot.example").await;
        let (s, html, _) = page(&sup, &app, "/admin/sla/policies").await;
        assert!(s == 200 && html.contains("pengaduan") && !html.contains("New policy"), "{html}");
        let sup_token = csrf_in(&html);
        let (s, html, _) = page(&sup, &app, &format!("/admin/sla/policies/{id}")).await;
        assert!(s == 200 && html.contains("<fieldset disabled"), "{html}");
        assert_eq!(page(&sup, &app, "/admin/sla/policies/new").await.0, 403);
        assert_eq!(page(&sup, &app, &cal_page).await.0, 200);
        let (s, _, _) = post_form(&sup, &app, "/admin/sla/policies", &policy_form(&sup_token, "diam-diam", good)).await;
        assert_eq!(s, 403);
        let (s, _, _) = post_upload(&sup, &app, upload(&sup_token, "cuti.csv", "2026-12-31\n", "jakarta-cc")).await;
        assert_eq!(s, 403);
        assert_eq!(policies(&app).await.len(), 2);
        let agent = sign_in(&app, "agent@pemkot.example").await;
        assert_eq!(page(&agent, &app, "/admin/sla/policies").await.0, 403);

        // Signing out ends the session.
        let (s, _, loc) = post_form(&admin, &app, "/admin/logout", &[("csrf", &token)]).await;
        assert_eq!((s, loc.as_deref()), (303, Some("/admin/login")));
        let (s, _, _) = page(&admin, &app, "/admin/sla/policies").await;
        assert_eq!(s, 303);
        assert_eq!(page(&admin, &app, "/admin/sla/policies/999").await.0, 303);
        assert_eq!(page(&sup, &app, "/admin/sla/policies/999").await.0, 404);
    }
}
