//! A real SMTP server for the tests: speaks enough RFC 5321 over TCP on a free loopback port for
//! lettre (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), records every accepted mail, and refuses
//! recipients it is told to refuse with a permanent 550.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Clone, Debug)]
pub struct SinkMail {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: String,
}

impl SinkMail {
    /// The first value of header `name` (unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let msg = mail_parser::MessageParser::default().parse(self.data.as_bytes())?;
        msg.header_raw(name)
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    pub fn subject(&self) -> String {
        let msg = mail_parser::MessageParser::default()
            .parse(self.data.as_bytes())
            .expect("mail parses");
        msg.subject().unwrap_or("").to_string()
    }

    pub fn text(&self) -> String {
        let msg = mail_parser::MessageParser::default()
            .parse(self.data.as_bytes())
            .expect("mail parses");
        msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default()
    }
}

#[derive(Default)]
struct State {
    mails: Mutex<Vec<SinkMail>>,
    refuse: Mutex<HashSet<String>>,
}

pub struct SmtpSink {
    pub port: u16,
    state: Arc<State>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp sink");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        let st = state.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let st = st.clone();
                tokio::spawn(async move {
                    let _ = session(socket, st).await;
                });
            }
        });
        SmtpSink { port, state }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn refuse(&self, rcpt: &str) {
        self.state.refuse.lock().unwrap().insert(rcpt.to_ascii_lowercase());
    }

    pub fn mails(&self) -> Vec<SinkMail> {
        self.state.mails.lock().unwrap().clone()
    }
}

fn angle(arg: &str) -> String {
    let start = arg.find('<').map(|i| i + 1).unwrap_or(0);
    let end = arg.find('>').unwrap_or(arg.len());
    arg[start..end].to_ascii_lowercase()
}

async fn session(socket: tokio::net::TcpStream, state: Arc<State>) -> std::io::Result<()> {
    let (r, mut w) = socket.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 sink.test ESMTP\r\n").await?;
    let (mut from, mut rcpts) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            w.write_all(b"250-sink.test\r\n250 8BITMIME\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = angle(&cmd[10..]);
            rcpts.clear();
            w.write_all(b"250 2.1.0 ok\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            let rcpt = angle(&cmd[8..]);
            if state.refuse.lock().unwrap().contains(&rcpt) {
                w.write_all(b"550 5.1.1 user unknown\r\n").await?;
            } else {
                rcpts.push(rcpt);
                w.write_all(b"250 2.1.5 ok\r\n").await?;
            }
        } else if upper == "DATA" {
            w.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(
                    line.strip_prefix('.')
                        .filter(|_| line.starts_with(".."))
                        .unwrap_or(&line),
                );
            }
            state.mails.lock().unwrap().push(SinkMail {
                mail_from: from.clone(),
                rcpt_to: rcpts.clone(),
                data,
            });
            w.write_all(b"250 2.0.0 queued\r\n").await?;
        } else if upper == "QUIT" {
            w.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            w.write_all(b"250 ok\r\n").await?;
        } else {
            w.write_all(b"502 not implemented\r\n").await?;
        }
    }
}
