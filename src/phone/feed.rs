//! The live caller log: every committed change to a call is published here (as the call's JSON)
//! and streamed to agent consoles as server-sent events. In-process only: each `serve` node feeds
//! the consoles connected to it with the changes it committed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;
use tokio::sync::broadcast::{self, error::RecvError};

/// A console this far behind is told to reload instead of being sent the backlog.
const CAPACITY: usize = 256;
/// A comment line this often keeps proxies from closing an idle stream.
const KEEPALIVE: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub struct CallFeed {
    tx: broadcast::Sender<Arc<str>>,
}

impl Default for CallFeed {
    fn default() -> Self {
        CallFeed {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl CallFeed {
    /// Publishes one call's JSON; nobody listening is fine.
    pub fn publish(&self, call_json: String) {
        let _ = self.tx.send(Arc::from(call_json));
    }

    /// A `text/event-stream` body: `event: call` frames, `event: resync` when this console fell
    /// behind (reload the list), and keepalive comments.
    pub fn subscribe(&self) -> SseBody {
        SseBody {
            rx: Some(self.tx.subscribe()),
            pending: None,
            hello: Some(Bytes::from_static(b"retry: 3000\n: connected\n\n")),
        }
    }
}

type Recv = Pin<Box<dyn Future<Output = (broadcast::Receiver<Arc<str>>, Option<Result<Arc<str>, RecvError>>)>>>;

pub struct SseBody {
    rx: Option<broadcast::Receiver<Arc<str>>>,
    pending: Option<Recv>,
    hello: Option<Bytes>,
}

/// One SSE frame for a message from the feed; `None` ends the stream.
fn frame(msg: Option<Result<Arc<str>, RecvError>>) -> Option<Bytes> {
    match msg {
        None => Some(Bytes::from_static(b": keepalive\n\n")),
        Some(Ok(json)) => Some(Bytes::from(format!("event: call\ndata: {json}\n\n"))),
        Some(Err(RecvError::Lagged(n))) => Some(Bytes::from(format!("event: resync\ndata: {{\"missed\":{n}}}\n\n"))),
        Some(Err(RecvError::Closed)) => None,
    }
}

impl MessageBody for SseBody {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        if let Some(hello) = this.hello.take() {
            return Poll::Ready(Some(Ok(hello)));
        }
        if this.pending.is_none() {
            let Some(mut rx) = this.rx.take() else {
                return Poll::Ready(None);
            };
            this.pending = Some(Box::pin(async move {
                let msg = tokio::time::timeout(KEEPALIVE, rx.recv()).await.ok();
                (rx, msg)
            }));
        }
        let Some(fut) = this.pending.as_mut() else {
            return Poll::Ready(None);
        };
        match fut.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready((rx, msg)) => {
                this.pending = None;
                this.rx = Some(rx);
                Poll::Ready(frame(msg).map(Ok))
            }
        }
    }
}
