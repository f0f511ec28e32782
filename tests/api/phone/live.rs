//! The live caller log: server-sent events for agent consoles.

use super::*;

/// Reads the stream until a chunk contains `needle`, or fails after a few seconds.
async fn read_until(resp: &mut reqwest::Response, needle: &str) -> String {
    let mut seen = String::new();
    let deadline = std::time::Duration::from_secs(10);
    tokio::time::timeout(deadline, async {
        while !seen.contains(needle) {
            let chunk = resp.chunk().await.expect("stream").expect("stream ended");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("`{needle}` did not arrive; got: {seen}"));
    seen
}

crate::both_backends! {
    async fn agents_see_calls_live(app, with_cti) {
        let r = app.http.get(app.url("/api/v1/calls/stream")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
        let mut stream = app
            .http
            .get(app.url("/api/v1/calls/stream"))
            .bearer_auth(&app.agent_token)
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status().as_u16(), 200);
        assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        read_until(&mut stream, ": connected").await;

        cti_ok(&app, &cti_fixture("seq_b_missed/01_newCall.json")).await;
        let got = read_until(&mut stream, "2608130002bb").await;
        let frame = got.split("\n\n").find(|f| f.contains("2608130002bb")).unwrap();
        assert!(frame.starts_with("event: call\ndata: "), "{frame}");
        let data: serde_json::Value = serde_json::from_str(frame.trim_start_matches("event: call\ndata: ")).unwrap();
        assert_eq!(data["state"], "ringing");
        assert_eq!(data["number"], "+6285600000777");

        app.clock.advance(chrono::Duration::seconds(20));
        cti_ok(&app, &cti_fixture("seq_b_missed/02_hangup.json")).await;
        let got = read_until(&mut stream, "\"missed\"").await;
        assert!(got.contains("\"callback\":{\"due_at\""), "{got}");
    }
}
