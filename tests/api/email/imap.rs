//! The IMAP poller against a real IMAP server: Dovecot (Debian's dovecot-imapd, installed by
//! .ci/run) started per test with a throwaway configuration on a free loopback port and a Maildir
//! in a temp directory.

use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use tanggap::config::Secret;
use tanggap::email::config::ImapMailbox;
use tanggap::email::imap::poll_once;

use super::*;
use crate::each_backend;
use crate::helpers::{Backend, TestApp, spawn_app_with};

const DOVECOT: &str = "/usr/sbin/dovecot";
const USER: &str = "uji";
const PASSWORD: &str = "rahasia-uji";

pub struct Dovecot {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
    seq: std::cell::Cell<u32>,
}

fn ids(name: &str) -> (u32, u32) {
    let out = Command::new("id").args(["-u", name]).output().expect("id");
    let uid = String::from_utf8_lossy(&out.stdout).trim().parse().expect("uid");
    let out = Command::new("id").args(["-g", name]).output().expect("id");
    let gid = String::from_utf8_lossy(&out.stdout).trim().parse().expect("gid");
    (uid, gid)
}

fn chown_all(path: &Path, uid: u32, gid: u32) {
    chown(path, Some(uid), Some(gid)).expect("chown");
    if path.is_dir() {
        for e in std::fs::read_dir(path).expect("read dir") {
            chown_all(&e.expect("entry").path(), uid, gid);
        }
    }
}

impl Dovecot {
    pub async fn start() -> Dovecot {
        assert!(
            Path::new(DOVECOT).exists(),
            "{DOVECOT} is required for the IMAP tests (apt-get install dovecot-imapd; .ci/run does it)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let d = dir.path();
        for sub in ["run", "state", "home", "mail"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        for sub in [
            "cur",
            "new",
            "tmp",
            ".Processed/cur",
            ".Processed/new",
            ".Processed/tmp",
        ] {
            std::fs::create_dir_all(d.join("mail").join(USER).join(sub)).unwrap();
        }
        let (uid, gid) = ids("dovecot");
        chown_all(&d.join("mail"), uid, gid);
        chown_all(&d.join("home"), uid, gid);
        std::fs::write(d.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dp = d.display();
        let conf = format!(
            r#"protocols = imap
listen = 127.0.0.1
base_dir = {dp}/run
state_dir = {dp}/state
log_path = {dp}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{dp}/mail/%u
first_valid_uid = {uid}
default_internal_user = dovecot
default_login_user = dovenull
namespace inbox {{
  inbox = yes
  separator = .
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dp}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dp}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"#
        );
        std::fs::write(d.join("dovecot.conf"), conf).unwrap();
        let child = Command::new(DOVECOT)
            .args(["-F", "-c"])
            .arg(d.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dovecot");
        let dovecot = Dovecot {
            child,
            dir,
            port,
            seq: std::cell::Cell::new(0),
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return dovecot;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("dovecot did not listen on {port}: {}", dovecot.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    fn maildir(&self, folder: &str) -> PathBuf {
        let base = self.dir.path().join("mail").join(USER);
        if folder == "INBOX" {
            base
        } else {
            base.join(format!(".{folder}"))
        }
    }

    /// Delivers `raw` into the INBOX the way an MDA does (Maildir `new/`).
    pub fn deliver(&self, raw: &[u8]) {
        let n = self.seq.get() + 1;
        self.seq.set(n);
        let tmp = self.maildir("INBOX").join("tmp").join(format!("1700000000.M{n}P1.uji"));
        std::fs::write(&tmp, raw).unwrap();
        std::fs::rename(
            &tmp,
            self.maildir("INBOX").join("new").join(format!("1700000000.M{n}P1.uji")),
        )
        .unwrap();
    }

    /// Maildir file names in `folder` (cur and new), with the flags after `:2,`.
    pub fn files(&self, folder: &str) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            for e in std::fs::read_dir(self.maildir(folder).join(sub)).unwrap() {
                out.push(format!("{sub}/{}", e.unwrap().file_name().to_string_lossy()));
            }
        }
        out.sort();
        out
    }

    /// How many mails in `folder` carry the \Seen flag (S in the Maildir info).
    pub fn seen(&self, folder: &str) -> usize {
        self.files(folder)
            .iter()
            .filter(|f| f.rsplit_once(":2,").is_some_and(|(_, flags)| flags.contains('S')))
            .count()
    }

    /// Forgets every \Seen flag, as a user marking all unread would.
    pub fn mark_all_unseen(&self) {
        let cur = self.maildir("INBOX").join("cur");
        for e in std::fs::read_dir(&cur).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if let Some((base, flags)) = name.rsplit_once(":2,") {
                let flags: String = flags.chars().filter(|c| *c != 'S').collect();
                std::fs::rename(cur.join(&name), cur.join(format!("{base}:2,{flags}"))).unwrap();
            }
        }
    }

    pub fn mailbox(&self, after_import: &str) -> ImapMailbox {
        ImapMailbox {
            host: "127.0.0.1".into(),
            port: self.port,
            tls: "plain".into(),
            user: USER.into(),
            password: Secret::new(PASSWORD),
            folder: "INBOX".into(),
            poll_interval_secs: 60,
            after_import: after_import.into(),
        }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| email_settings(s, None)).await
}

each_backend! {
    async fn poller_imports_new_mail_once_and_marks_it_seen_after_commit(backend) {
        let imap = Dovecot::start().await;
        let app = app(backend).await;
        imap.deliver(&fixture("01_new_complaint.eml"));
        imap.deliver(&fixture("03_multipart_html_attachment_utf8_subject.eml"));
        imap.deliver(b"\x00\x01 not a mail message at all");
        let mb = imap.mailbox("seen");
        let r = poll_once(&app.ctx, &mb).await.unwrap_or_else(|e| panic!("{e}\n{}", imap.log()));
        assert_eq!((r.stored, r.refused), (2, 1), "{}", imap.log());
        assert_eq!(ticket_count(&app).await, 2);
        assert_eq!(imap.seen("INBOX"), 2, "stored mail is marked seen; the refused one is left as it was");
        // Nothing new: nothing imported.
        let r = poll_once(&app.ctx, &mb).await.unwrap();
        assert_eq!((r.stored, r.refused), (0, 0));
        // New mail arrives later: only it is fetched.
        imap.deliver(&mail("Warga <warga@mail.example>", "Pohon tumbang", Some("pohon-1@mail.example"), "", "Pohon tumbang di Jl. Dago."));
        let r = poll_once(&app.ctx, &mb).await.unwrap();
        assert_eq!(r.stored, 1);
        assert_eq!(ticket_count(&app).await, 3);
    }

    async fn poller_after_a_crash_imports_nothing_twice(backend) {
        let imap = Dovecot::start().await;
        let app = app(backend).await;
        imap.deliver(&fixture("01_new_complaint.eml"));
        imap.deliver(&mail("Warga <warga@mail.example>", "Tanpa Message-ID", None, "", "Isi."));
        let mb = imap.mailbox("seen");
        assert_eq!(poll_once(&app.ctx, &mb).await.unwrap().stored, 2, "{}", imap.log());
        // As if we crashed after the commit but before flagging, and lost the cursor too.
        imap.mark_all_unseen();
        app.ctx
            .write_blocking(|conn| {
                use diesel::prelude::*;
                diesel::delete(tanggap::db::schema::email_imap_state::table).execute(conn)?;
                Ok(())
            })
            .unwrap();
        let r = poll_once(&app.ctx, &mb).await.unwrap();
        assert_eq!(r.stored, 2, "fetched again, recognised as duplicates");
        assert_eq!(ticket_count(&app).await, 2);
        let (_, t) = app.get(&app.agent_token, "/api/v1/tickets?limit=10").await;
        for item in t["items"].as_array().unwrap() {
            let detail = app.ticket(item["id"].as_i64().unwrap()).await;
            let inbound = messages(&detail).iter().filter(|m| m["direction"] == "inbound").count();
            assert_eq!(inbound, 1, "{detail}");
        }
        assert_eq!(imap.seen("INBOX"), 2);
    }

    async fn poller_can_move_mail_after_import(backend) {
        let imap = Dovecot::start().await;
        let app = app(backend).await;
        imap.deliver(&fixture("01_new_complaint.eml"));
        imap.deliver(&fixture("04_auto_reply_out_of_office.eml"));
        let r = poll_once(&app.ctx, &imap.mailbox("move:Processed")).await.unwrap_or_else(|e| panic!("{e}\n{}", imap.log()));
        assert_eq!(r.stored, 2);
        assert!(imap.files("INBOX").is_empty(), "{:?}", imap.files("INBOX"));
        assert_eq!(imap.files("Processed").len(), 2);
        assert_eq!(ticket_count(&app).await, 1, "the auto-reply opened nothing");
    }

    async fn poller_reports_a_wrong_password(backend) {
        let imap = Dovecot::start().await;
        let app = app(backend).await;
        let mut mb = imap.mailbox("seen");
        mb.password = Secret::new("salah");
        let err = poll_once(&app.ctx, &mb).await.unwrap_err();
        assert!(err.contains("login"), "{err}");
        assert!(!err.contains("salah"), "no secret in errors: {err}");
    }
}
