//! The OpenAPI document at `/api/v1/openapi.json`: public, OpenAPI 3.1, and complete — every
//! route registered under `/api/v1` (read from the `.route(...)` calls in `src/web/api/`) is
//! documented, and nothing is documented that is not registered.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::both_backends;

const METHODS: [&str; 5] = ["get", "post", "patch", "put", "delete"];

/// `(method, path)` of every `.route("<path>", web::<method>()…)` in the files under `dir`, with
/// `/api/v1` in front and actix's `{name:regex}` segments written as OpenAPI's `{name}`.
fn registered_routes(dir: &Path) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    let mut files: Vec<_> = std::fs::read_dir(dir).expect("src/web/api").flatten().collect();
    while let Some(entry) = files.pop() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).expect("dir").flatten());
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        for (i, chunk) in text.split(".route(").enumerate().skip(1) {
            let chunk = chunk.trim_start();
            let Some(rest) = chunk.strip_prefix('"') else {
                panic!("{}: route #{i} does not start with a string literal", path.display());
            };
            let (route, rest) = rest.split_once('"').expect("closing quote");
            let method = METHODS
                .iter()
                .find(|m| {
                    rest.trim_start_matches([',', ' ', '\n'])
                        .starts_with(&format!("web::{m}()"))
                })
                .unwrap_or_else(|| panic!("{}: route {route}: no web::<method>() after it", path.display()));
            let route: String = route
                .split('/')
                .map(|seg| match seg.strip_prefix('{').and_then(|s| s.split_once(':')) {
                    Some((name, _)) => format!("{{{name}}}"),
                    None => seg.to_string(),
                })
                .collect::<Vec<_>>()
                .join("/");
            routes.insert((method.to_string(), format!("/api/v1{route}")));
        }
    }
    routes
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                ops.insert((method.to_string(), path.clone()));
            }
        }
    }
    ops
}

both_backends! {
    async fn openapi_document_covers_every_route(app) {
        // Public: no token.
        let resp = app.http.get(app.url("/api/v1/openapi.json")).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let doc: Value = resp.json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);

        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web/api");
        let registered = registered_routes(&src);
        assert!(registered.len() >= 40, "the route scan found only {registered:?}");
        let documented = documented(&doc);
        let undocumented: Vec<_> = registered.difference(&documented).collect();
        assert!(
            undocumented.is_empty(),
            "routes without an OpenAPI entry (add #[utoipa::path] to the handler and list it in \
             src/web/api/openapi.rs): {undocumented:?}"
        );
        let stale: Vec<_> = documented.difference(&registered).collect();
        assert!(stale.is_empty(), "documented but not registered: {stale:?}");

        // Every operation answers something on success, and every error it names is a Problem.
        for (method, path) in &documented {
            let op = &doc["paths"][path][method];
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path}: no 2xx");
            for (status, r) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
                let r = match r["$ref"].as_str() {
                    Some(name) => &doc["components"]["responses"][name.rsplit('/').next().unwrap()],
                    None => r,
                };
                assert_eq!(
                    r["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{method} {path} {status}"
                );
            }
        }
        // Agent routes need a credential; the public ones say so explicitly.
        let public: BTreeSet<&str> = [
            "/api/v1/openapi.json",
            "/api/v1/sessions",
            "/api/v1/public/tickets/{number}",
            "/api/v1/cti/{token}",
            "/api/v1/channels/email/inbound",
        ]
        .into();
        for (method, path) in &documented {
            let own = &doc["paths"][path][method]["security"];
            let explicit = own.is_array();
            let is_public = public.contains(path.as_str()) && !(path == "/api/v1/sessions" && method == "delete");
            assert_eq!(explicit, is_public, "{method} {path}: security {own}");
        }
        for scheme in ["bearer", "session"] {
            assert!(doc["components"]["securitySchemes"][scheme].is_object(), "{scheme}");
        }
        assert_eq!(doc["security"], serde_json::json!([{ "bearer": [] }, { "session": [] }]));

        // The Problem schema's required fields are what a real error carries.
        let (status, problem) = app.get(&app.agent_token, "/api/v1/tickets?limit=0").await;
        assert_eq!(status, 422);
        for field in doc["components"]["schemas"]["Problem"]["required"].as_array().unwrap() {
            assert!(problem.get(field.as_str().unwrap()).is_some(), "{field} missing in {problem}");
        }
        assert!(problem["errors"]["limit"].is_string(), "{problem}");
    }
}
