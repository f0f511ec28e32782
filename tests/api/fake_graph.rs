//! A stand-in for Meta's Graph API over real loopback HTTP: records every request and answers
//! with scripted responses, or with plausible successes by default.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};

use crate::helpers::spawn_http_peer;
use serde_json::{Value, json};

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    scripted: VecDeque<(u16, Value)>,
    counter: u64,
}

#[derive(Clone)]
pub struct FakeGraph {
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl FakeGraph {
    pub async fn start() -> FakeGraph {
        let state = Arc::new(Mutex::new(State::default()));
        let data = web::Data::new(state.clone());
        let base = spawn_http_peer(move |cfg| {
            cfg.app_data(data.clone()).default_service(web::to(handle));
        });
        FakeGraph { base, state }
    }

    /// The next request gets this answer instead of the default success.
    pub fn respond(&self, status: u16, body: Value) {
        self.state.lock().unwrap().scripted.push_back((status, body));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }
}

async fn handle(req: HttpRequest, body: web::Bytes, state: web::Data<Arc<Mutex<State>>>) -> HttpResponse {
    let mut st = state.lock().unwrap();
    let path = req.path().to_string();
    st.requests.push(Recorded {
        method: req.method().to_string(),
        path: path.clone(),
        query: req.query_string().to_string(),
        authorization: req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    if let Some((status, body)) = st.scripted.pop_front() {
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(body);
    }
    st.counter += 1;
    let n = st.counter;
    let answer = if path.ends_with("/replies") || path.ends_with("/mentions") {
        json!({ "id": format!("1800000000009{n:04}") })
    } else if path.ends_with("/messages") && path.contains("/100000000000020/") {
        json!({ "messaging_product": "whatsapp", "messages": [{ "id": format!("wamid.PALSU{n:04}") }] })
    } else if path.ends_with("/messages") {
        json!({ "recipient_id": "x", "message_id": format!("mid.palsu.{n:04}") })
    } else {
        json!({})
    };
    HttpResponse::Ok().json(answer)
}
