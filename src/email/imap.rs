//! The IMAP poller: per configured mailbox, fetch new mail with `BODY.PEEK[]` (so nothing is
//! marked read before we have it), store it through the inbound pipeline, and only after that
//! commit mark it `\Seen` or move it. A cursor `(UIDVALIDITY, last UID)` per mailbox skips what was
//! handled; a crash between commit and flagging fetches the mail again, and the Message-ID dedupe
//! (else the raw hash) makes that a no-op. Nothing is imported twice, nothing is lost.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_imap::Session;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::config::{AfterImport, ImapMailbox};
use super::repo;
use crate::context::AppContext;
use crate::error::AppError;

const TIMEOUT: Duration = Duration::from_secs(60);

/// What one poll did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Mails stored (new messages, duplicates, auto-replies and bounces recorded).
    pub stored: usize,
    /// Mails left on the server because they are not mail at all (skipped by the cursor).
    pub refused: usize,
}

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(TIMEOUT, f)
        .await
        .map_err(|_| format!("IMAP {what} timed out"))
}

/// Polls `mailbox` once.
pub async fn poll_once(ctx: &AppContext, mailbox: &ImapMailbox) -> Result<PollReport, String> {
    let addr = (mailbox.host.as_str(), mailbox.port);
    let tcp = within("connect", TcpStream::connect(addr))
        .await?
        .map_err(|e| format!("cannot connect to {}:{}: {e}", mailbox.host, mailbox.port))?;
    if mailbox.tls == "plain" {
        return session(ctx, mailbox, tcp).await;
    }
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(mailbox.host.clone())
        .map_err(|e| format!("bad IMAP host name: {e}"))?;
    let tls = within(
        "TLS handshake",
        tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp),
    )
    .await?
    .map_err(|e| format!("TLS to {}: {e}", mailbox.host))?;
    session(ctx, mailbox, tls).await
}

async fn session<T>(ctx: &AppContext, mailbox: &ImapMailbox, stream: T) -> Result<PollReport, String>
where
    T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
{
    let mut client = async_imap::Client::new(stream);
    within("greeting", client.read_response())
        .await?
        .map_err(|e| format!("IMAP greeting: {e}"))?
        .ok_or("the IMAP server closed the connection")?;
    let mut s = within("login", client.login(&mailbox.user, mailbox.password.expose()))
        .await?
        .map_err(|(e, _)| format!("IMAP login as {} failed: {e}", mailbox.user))?;
    let result = import(ctx, mailbox, &mut s).await;
    let _ = within("logout", s.logout()).await;
    result
}

async fn import<T>(ctx: &AppContext, mailbox: &ImapMailbox, s: &mut Session<T>) -> Result<PollReport, String>
where
    T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
{
    let name = mailbox.name();
    let selected = within("select", s.select(&mailbox.folder))
        .await?
        .map_err(|e| format!("cannot select {}: {e}", mailbox.folder))?;
    let uid_validity = i64::from(selected.uid_validity.unwrap_or(0));
    let name2 = name.clone();
    let cursor = ctx
        .db
        .read(move |conn| repo::imap_cursor(conn, &name2).map_err(AppError::from))
        .await
        .map_err(|e| e.to_string())?;
    // A new UIDVALIDITY means the UIDs were renumbered: start over (dedupe keeps it safe).
    let last_uid = match cursor {
        Some((v, last)) if v == uid_validity => last,
        _ => 0,
    };
    let after = mailbox.after().ok_or("bad after_import")?;
    let filter = match after {
        AfterImport::Seen => "UNSEEN ",
        AfterImport::Move(_) => "",
    };
    let query = format!("{filter}UID {}:*", last_uid + 1);
    let mut uids: Vec<u32> = within("search", s.uid_search(&query))
        .await?
        .map_err(|e| format!("UID SEARCH failed: {e}"))?
        .into_iter()
        .filter(|u| i64::from(*u) > last_uid)
        .collect();
    uids.sort_unstable();
    let mut report = PollReport::default();
    for uid in uids {
        let raw = fetch(s, uid).await?;
        let Some(raw) = raw else {
            continue;
        };
        match super::ingest(ctx, raw).await {
            Ok(r) => {
                log::info!("imap {name}: uid {uid} {}", r.action);
                report.stored += 1;
                // Only now, with the mail committed, may the server forget it is new.
                match &after {
                    AfterImport::Seen => {
                        let mut st = within("store", s.uid_store(uid.to_string(), "+FLAGS (\\Seen)"))
                            .await?
                            .map_err(|e| format!("UID STORE failed: {e}"))?;
                        while let Some(r) = st.next().await {
                            r.map_err(|e| format!("UID STORE failed: {e}"))?;
                        }
                    }
                    AfterImport::Move(folder) => {
                        within("move", s.uid_mv(uid.to_string(), folder))
                            .await?
                            .map_err(|e| format!("UID MOVE to {folder} failed: {e}"))?;
                    }
                }
            }
            Err(e @ (AppError::BadRequest(_) | AppError::Validation(_))) => {
                // Not a mail message: leave it on the server untouched and move the cursor past it.
                log::warn!("imap {name}: uid {uid} left on the server, it cannot be stored: {e}");
                report.refused += 1;
            }
            Err(e) => return Err(format!("storing uid {uid} failed, will retry: {e}")),
        }
        let (name2, now) = (name.clone(), ctx.clock.now().naive_utc());
        ctx.write(move |conn| Ok(repo::set_imap_cursor(conn, &name2, uid_validity, i64::from(uid), now)?))
            .await
            .map_err(|e| e.to_string())?;
        while s.unsolicited_responses.try_recv().is_ok() {}
    }
    Ok(report)
}

async fn fetch<T>(s: &mut Session<T>, uid: u32) -> Result<Option<Vec<u8>>, String>
where
    T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
{
    let mut stream = within("fetch", s.uid_fetch(uid.to_string(), "(UID BODY.PEEK[])"))
        .await?
        .map_err(|e| format!("UID FETCH failed: {e}"))?;
    let mut body = None;
    while let Some(f) = within("fetch", stream.next()).await? {
        let f = f.map_err(|e| format!("UID FETCH failed: {e}"))?;
        if f.uid == Some(uid)
            && let Some(b) = f.body()
        {
            body = Some(b.to_vec());
        }
    }
    Ok(body)
}

/// Polls every configured mailbox on its interval until `shutdown`.
pub async fn run(ctx: AppContext, shutdown: watch::Receiver<bool>) {
    let mut tasks = Vec::new();
    for mailbox in ctx.settings.email.imap.clone() {
        let (ctx, mut shutdown) = (ctx.clone(), shutdown.clone());
        tasks.push(tokio::spawn(async move {
            let name = mailbox.name();
            log::info!("imap poller for {name} started");
            while !*shutdown.borrow() {
                match poll_once(&ctx, &mailbox).await {
                    Ok(r) if r.stored + r.refused > 0 => log::info!("imap {name}: {r:?}"),
                    Ok(_) => {}
                    Err(e) => log::warn!("imap {name}: {e}"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(mailbox.poll_interval_secs)) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}
