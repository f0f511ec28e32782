//! Authentication (bearer tokens, session cookies) and role checks.

use serde_json::{Value, json};
use tanggap::auth;

fn assert_unauthorized(status: u16, body: &Value) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "unauthorized", "{body}");
    assert_eq!(body["status"], 401, "{body}");
}

fn assert_forbidden(status: u16, body: &Value) {
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "forbidden", "{body}");
}

/// A second API token for the agent (expiring at `expires`, if given); returns it and its hash.
fn agent_token(app: &crate::helpers::TestApp, expires: Option<chrono::NaiveDateTime>) -> (String, String) {
    let (token, hash) = auth::new_token("tgp");
    let now = app.ctx.clock.now_naive();
    let (agent, h) = (app.agent_id, hash.clone());
    app.ctx
        .write_blocking(move |conn| {
            Ok(auth::repo::insert_token(
                conn, agent, "api", &h, "second", now, expires,
            )?)
        })
        .expect("insert token");
    (token, hash)
}

/// Revokes a token straight in the database, as another node would.
fn revoke(app: &crate::helpers::TestApp, hash: String) {
    let now = app.ctx.clock.now_naive();
    app.ctx
        .write_blocking(move |conn| Ok(auth::repo::revoke_token(conn, &hash, now)?))
        .expect("revoke");
}

/// Creates an active user with a password and returns its id.
fn user_with_password(app: &crate::helpers::TestApp, email: &'static str, role: &'static str, password: &str) -> i64 {
    let hash = auth::hash_password(password).expect("hash");
    let now = app.ctx.clock.now_naive();
    app.ctx
        .write_blocking(move |conn| {
            Ok(auth::repo::insert_user(
                conn,
                &auth::repo::NewUser {
                    email,
                    name: "Sari Lestari",
                    role,
                    password_hash: Some(&hash),
                    team_id: None,
                },
                now,
            )?)
        })
        .expect("insert user")
        .id
}

crate::both_backends! {
    async fn missing_or_wrong_credentials_are_401_problems(app) {
        // No credentials at all: problem+json with a challenge.
        let (status, headers, body) = app.send(app.http.get(app.url("/api/v1/tickets"))).await;
        assert_unauthorized(status, &body);
        assert_eq!(headers["content-type"], "application/problem+json");
        assert!(headers.contains_key("www-authenticate"));

        // A token nobody was given.
        let (status, body) = app.get("tgp_0000000000000000000000000000000000000000000000000000000000000000", "/api/v1/tickets").await;
        assert_unauthorized(status, &body);

        // An empty bearer and a non-bearer scheme.
        for value in ["Bearer ", "Basic YWdlbnQ6c2FuZGk=", &format!("Token {}", app.agent_token)] {
            let (status, _, body) = app
                .send(app.http.get(app.url("/api/v1/users/me")).header("Authorization", value))
                .await;
            assert_unauthorized(status, &body);
        }

        // The real token works, so the 401s above were about the credential.
        let (status, body) = app.get(&app.agent_token, "/api/v1/tickets").await;
        assert_eq!(status, 200, "{body}");
    }

    async fn revoked_token_is_401(app, |s| s.auth.token_cache_secs = 0) {
        let (token, hash) = agent_token(&app, None);
        let (status, body) = app.get(&token, "/api/v1/users/me").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["id"], app.agent_id);
        revoke(&app, hash);
        let (status, body) = app.get(&token, "/api/v1/users/me").await;
        assert_unauthorized(status, &body);
        // The agent's other token is untouched.
        let (status, _) = app.get(&app.agent_token, "/api/v1/users/me").await;
        assert_eq!(status, 200);
    }

    // A token revoked by another node (here: straight in the database) is trusted from this
    // node's cache for at most `auth.token_cache_secs`, then refused.
    async fn token_revoked_elsewhere_is_refused_after_the_cache_lifetime(app, |s| s.auth.token_cache_secs = 1) {
        let (token, hash) = agent_token(&app, None);
        let (status, body) = app.get(&token, "/api/v1/users/me").await;
        assert_eq!(status, 200, "{body}");
        revoke(&app, hash);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let (status, body) = app.get(&token, "/api/v1/users/me").await;
        assert_unauthorized(status, &body);
    }

    async fn expired_token_is_401(app) {
        let expires = app.ctx.clock.now_naive() + chrono::Duration::hours(1);
        let (token, _) = agent_token(&app, Some(expires));
        let (status, _) = app.get(&token, "/api/v1/users/me").await;
        assert_eq!(status, 200);
        app.clock.advance(chrono::Duration::hours(2));
        let (status, body) = app.get(&token, "/api/v1/users/me").await;
        assert_unauthorized(status, &body);
    }

    async fn agent_is_refused_admin_and_supervisor_endpoints(app) {
        let (status, body) = app.post(&app.agent_token, "/api/v1/teams", &json!({ "name": "Kebersihan" })).await;
        assert_forbidden(status, &body);
        let (status, body) = app.post(&app.agent_token, "/api/v1/categories", &json!({ "name": "Sampah" })).await;
        assert_forbidden(status, &body);
        let (status, body) = app.get(&app.agent_token, "/api/v1/jobs").await;
        assert_forbidden(status, &body);
        let (status, body) = app.post(&app.agent_token, "/api/v1/jobs/1/retry", &json!({})).await;
        assert_forbidden(status, &body);
        let (status, body) = app.get(&app.agent_token, "/api/v1/users").await;
        assert_forbidden(status, &body);
        // Nothing was created by the refused request.
        let (status, body) = app.get(&app.agent_token, "/api/v1/teams").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["items"].as_array().unwrap().len(), 0, "{body}");
        // Agents may read reference data and work tickets.
        let (status, _) = app.get(&app.agent_token, "/api/v1/categories").await;
        assert_eq!(status, 200);
    }

    async fn supervisor_is_refused_admin_endpoints_but_lists_users(app) {
        let (status, body) = app.post(&app.supervisor_token, "/api/v1/teams", &json!({ "name": "Kebersihan" })).await;
        assert_forbidden(status, &body);
        let (status, body) = app.get(&app.supervisor_token, "/api/v1/jobs").await;
        assert_forbidden(status, &body);
        let (status, body) = app.get(&app.supervisor_token, "/api/v1/jobs?state=dead").await;
        assert_forbidden(status, &body);

        let (status, body) = app.get(&app.supervisor_token, "/api/v1/users").await;
        assert_eq!(status, 200, "{body}");
        let emails: Vec<&str> = body["items"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
        assert_eq!(emails, ["admin@pemkot.example", "supervisor@pemkot.example", "agent@pemkot.example"]);
        // Password hashes are never listed.
        assert!(!body.to_string().contains("password"), "{body}");

        // The admin may do all of it.
        let (status, body) = app.post(&app.admin_token, "/api/v1/teams", &json!({ "name": "Kebersihan" })).await;
        assert_eq!(status, 201, "{body}");
        let (status, _) = app.get(&app.admin_token, "/api/v1/jobs").await;
        assert_eq!(status, 200);
        let (status, _) = app.get(&app.admin_token, "/api/v1/users").await;
        assert_eq!(status, 200);
    }

    async fn users_me_describes_the_caller(app) {
        for (token, email, role) in [
            (&app.agent_token, "agent@pemkot.example", "agent"),
            (&app.supervisor_token, "supervisor@pemkot.example", "supervisor"),
            (&app.admin_token, "admin@pemkot.example", "admin"),
        ] {
            let (status, body) = app.get(token, "/api/v1/users/me").await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["email"], email);
            assert_eq!(body["role"], role);
        }
        let (status, body) = app.get(&app.agent_token, "/api/v1/users/me").await;
        assert_eq!(status, 200);
        assert_eq!(body["id"], app.agent_id);
    }

    async fn session_login_cookie_and_logout(app) {
        let uid = user_with_password(&app, "sari@pemkot.example", "supervisor", "kata-sandi-rahasia");
        let client = reqwest::Client::builder().cookie_store(true).build().unwrap();

        // Without logging in the cookie client is a stranger.
        let (status, _, body) = app.send(client.get(app.url("/api/v1/users/me"))).await;
        assert_unauthorized(status, &body);

        // Wrong password and unknown user get the same 400.
        let (status, _, wrong) = app
            .send(client.post(app.url("/api/v1/sessions")).json(&json!({ "email": "sari@pemkot.example", "password": "salah-sandi-sekali" })))
            .await;
        assert_eq!(status, 400, "{wrong}");
        assert_eq!(wrong["code"], "bad_request");
        let (status, _, unknown) = app
            .send(client.post(app.url("/api/v1/sessions")).json(&json!({ "email": "siapa@pemkot.example", "password": "kata-sandi-rahasia" })))
            .await;
        assert_eq!(status, 400);
        assert_eq!(wrong, unknown);
        // The failed attempts set no cookie.
        let (status, _, _) = app.send(client.get(app.url("/api/v1/users/me"))).await;
        assert_eq!(status, 401);

        // The e-mail is matched case-insensitively.
        let (status, headers, body) = app
            .send(client.post(app.url("/api/v1/sessions")).json(&json!({ "email": "Sari@PemKot.example", "password": "kata-sandi-rahasia" })))
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["user"]["id"], uid);
        let set_cookie = headers["set-cookie"].to_str().unwrap().to_string();
        assert!(set_cookie.starts_with("tanggap_session="), "{set_cookie}");
        assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
        let session = set_cookie.split(';').next().unwrap().to_string();

        let (status, _, me) = app.send(client.get(app.url("/api/v1/users/me"))).await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["email"], "sari@pemkot.example");
        assert_eq!(me["role"], "supervisor");
        let (status, _, _) = app.send(client.get(app.url("/api/v1/users"))).await;
        assert_eq!(status, 200);

        // Logging out revokes the session on the server, not just in this browser.
        // Logging out with an API token is harmless: the token stays valid.
        let (status, _) = app.delete(&app.agent_token, "/api/v1/sessions").await;
        assert_eq!(status, 204);
        let (status, _) = app.get(&app.agent_token, "/api/v1/users/me").await;
        assert_eq!(status, 200);
        let (status, _, _) = app.send(client.get(app.url("/api/v1/users/me"))).await;
        assert_eq!(status, 200);

        let (status, _, body) = app.send(client.delete(app.url("/api/v1/sessions"))).await;
        assert_eq!(status, 204, "{body}");
        let (status, _, body) = app.send(client.get(app.url("/api/v1/users/me"))).await;
        assert_unauthorized(status, &body);
        let (status, _, body) = app
            .send(app.http.get(app.url("/api/v1/users/me")).header("Cookie", session))
            .await;
        assert_unauthorized(status, &body);
    }

    async fn session_expires_after_twelve_hours(app) {
        user_with_password(&app, "budi@pemkot.example", "agent", "kata-sandi-rahasia");
        let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let (status, _, body) = app
            .send(client.post(app.url("/api/v1/sessions")).json(&json!({ "email": "budi@pemkot.example", "password": "kata-sandi-rahasia" })))
            .await;
        assert_eq!(status, 201, "{body}");
        let (status, _, _) = app.send(client.get(app.url("/api/v1/users/me"))).await;
        assert_eq!(status, 200);
        app.clock.advance(chrono::Duration::hours(13));
        let (status, _, body) = app.send(client.get(app.url("/api/v1/users/me"))).await;
        assert_unauthorized(status, &body);
    }
}
