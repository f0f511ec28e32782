//! `tanggap ingest-email` as an MTA runs it: the real binary, one message on stdin, exit codes
//! 0 (stored, duplicate, auto-reply), 65 (not mail) and 75 (database unreachable: retry).

use std::io::Write;
use std::process::{Command, Stdio};

use super::fixture;
use crate::each_backend;
use crate::helpers::{drop_schema, fresh_database};

fn ingest(db_url: &str, input: &[u8]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tanggap"))
        .arg("ingest-email")
        .env("TANGGAP_CONFIG_DIR", dir.path())
        .env("TANGGAP__DATABASE__URL", db_url)
        .env("TANGGAP__DATABASE__CONNECTION_TIMEOUT_MS", "1000")
        .env("TANGGAP__EMAIL__FROM", "Layanan <pengaduan@pemkot.example>")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tanggap");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        // Killed by a signal: 128 + its number, as a shell reports it.
        out.status
            .code()
            .unwrap_or_else(|| 128 + std::os::unix::process::ExitStatusExt::signal(&out.status).unwrap_or(0)),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

each_backend! {
    async fn pipe_exit_codes(backend) {
        let (url, _dir, schema) = fresh_database(backend);
        let (code, out, err) = ingest(&url, &fixture("01_new_complaint.eml"));
        assert_eq!(code, 0, "{out}{err}");
        let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(report["action"], "created_ticket");
        let (code, out, err) = ingest(&url, &fixture("01_new_complaint.eml"));
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("\"duplicate\""), "{out}");
        let (code, out, err) = ingest(&url, &fixture("04_auto_reply_out_of_office.eml"));
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("\"ignored\""), "{out}");
        let (code, _, err) = ingest(&url, b"\x00\x01\x02 this is not mail");
        assert_eq!(code, 65, "{err}");
        assert!(err.contains("not an e-mail message"), "{err}");
        if let Some(s) = schema {
            drop_schema(&s);
        }
    }
}

#[test]
fn unreachable_database_is_a_temporary_failure() {
    let (code, _, err) = ingest(
        "postgres://postgres@127.0.0.1:1/nowhere",
        &fixture("01_new_complaint.eml"),
    );
    assert_eq!(code, 75, "{err}");
    let dir = tempfile::tempdir().unwrap();
    // A SQLite file that cannot be created (its directory is a file) is unavailable too.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let url = format!("sqlite://{}/sub/db.sqlite", blocker.display());
    let (code, _, err) = ingest(&url, &fixture("01_new_complaint.eml"));
    assert_eq!(code, 75, "{err}");
}
