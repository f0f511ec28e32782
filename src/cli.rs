//! Command line: every command reads the same layered configuration.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::auth::{self, Role};
use crate::config::Settings;
use crate::contacts::Email;
use crate::context::AppContext;

#[derive(Parser, Debug)]
#[command(name = "tanggap", version, about = "Customer-first complaint and helpdesk ticketing")]
pub struct Cli {
    /// Directory with default.toml and <TANGGAP_ENV>.toml.
    #[arg(long, global = true, env = "TANGGAP_CONFIG_DIR", default_value = "config")]
    pub config_dir: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server (and the background workers, unless jobs.run_in_serve = false).
    Serve,
    /// Run only the background workers.
    Worker,
    /// Apply pending database migrations.
    Migrate {
        /// Revert every migration instead (destroys all data).
        #[arg(long)]
        revert_all: bool,
    },
    /// Manage agent accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Store one e-mail read from standard input (for MTA pipes). Exit 0 stored, 75 try again
    /// later, 65 not a mail message.
    IngestEmail,
    /// Business calendars for SLA targets.
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// SLA arithmetic.
    Sla {
        #[command(subcommand)]
        command: SlaCommand,
    },
    /// Seed a realistic Indonesian demo data set (teams, categories, agents, tickets).
    Demo {
        /// How many tickets to create.
        #[arg(long, default_value_t = 300)]
        tickets: usize,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user; the password comes from TANGGAP_PASSWORD or a prompt.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["agent", "supervisor", "admin"])]
        role: String,
        /// Team id for the user.
        #[arg(long)]
        team: Option<i64>,
    },
}

#[derive(Subcommand, Debug)]
pub enum CalendarCommand {
    /// Load a calendar from a TOML file, replacing one of the same name.
    Import { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum SlaCommand {
    /// Print the due instant (RFC 3339) of a target started at --start on a calendar.
    Due {
        #[arg(long)]
        calendar: String,
        /// Start instant, RFC 3339 (e.g. 2026-12-04T16:00:00+07:00).
        #[arg(long)]
        start: String,
        /// Business time such as 4h, 90m, 1h30m; with --business-days whole days such as 3d.
        #[arg(long)]
        target: String,
        /// Count working days (due at the close of the Nth working day after the start's date).
        #[arg(long)]
        business_days: bool,
        /// Also print the business intervals (or working days) counted.
        #[arg(long)]
        explain: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Print a new API token for a user on stdout (shown once; only its hash is stored).
    Create {
        #[arg(long)]
        email: String,
        /// A label to recognise the token by.
        #[arg(long, default_value = "cli")]
        label: String,
    },
}

/// Runs a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::IngestEmail = cli.command {
        // The MTA reads the exit code: configuration or database trouble is a temporary failure.
        std::process::exit(crate::email::pipe::main(&cli.config_dir));
    }
    let settings = Settings::load(&cli.config_dir)?;
    let ctx = AppContext::open(settings)?;
    match cli.command {
        Command::Serve => actix_web::rt::System::new().block_on(crate::startup::serve(ctx)),
        Command::Worker => actix_web::rt::System::new().block_on(crate::startup::work(ctx)),
        Command::Migrate { revert_all } => {
            let mut conn = ctx.db.write_conn()?;
            if revert_all {
                let v = crate::db::migrations::revert_all(&mut conn).map_err(|e| anyhow::anyhow!("{e}"))?;
                eprintln!("reverted {} migration(s)", v.len());
            } else {
                let v = crate::db::migrations::run_pending(&mut conn).map_err(|e| anyhow::anyhow!("{e}"))?;
                eprintln!(
                    "applied {} migration(s){}",
                    v.len(),
                    if v.is_empty() { "; the schema is up to date" } else { "" }
                );
            }
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    email,
                    name,
                    role,
                    team,
                },
        } => {
            crate::startup::migrate(&ctx)?;
            let email = Email::parse(&email).map_err(anyhow::Error::msg)?;
            let name = name.trim().to_string();
            anyhow::ensure!(!name.is_empty(), "--name must not be empty");
            let role = Role::parse(&role).ok_or_else(|| anyhow::anyhow!("unknown role"))?;
            let password = read_password()?;
            auth::check_password_strength(&password).map_err(|e| anyhow::anyhow!("password {e}"))?;
            let hash = auth::hash_password(&password).map_err(anyhow::Error::msg)?;
            let now = ctx.clock.now_naive();
            let user = ctx
                .write_blocking(|conn| {
                    Ok(auth::repo::insert_user(
                        conn,
                        &auth::repo::NewUser {
                            email: email.as_str(),
                            name: &name,
                            role: role.as_str(),
                            password_hash: Some(&hash),
                            team_id: team,
                        },
                        now,
                    )?)
                })
                .map_err(|e| match e {
                    crate::error::AppError::Conflict { .. } => {
                        anyhow::anyhow!("a user with e-mail {email} already exists")
                    }
                    crate::error::AppError::Validation(_) => anyhow::anyhow!("team {team:?} does not exist"),
                    other => anyhow::anyhow!("{other}"),
                })?;
            eprintln!("added {} {} (id {})", role.as_str(), user.email, user.id);
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Create { email, label },
        } => {
            crate::startup::migrate(&ctx)?;
            let email = Email::parse(&email).map_err(anyhow::Error::msg)?;
            let (token, hash) = auth::new_token("tgp");
            let now = ctx.clock.now_naive();
            ctx.write_blocking(|conn| {
                let user = auth::repo::find_user_by_email(conn, email.as_str())?
                    .ok_or_else(|| crate::error::AppError::BadRequest(format!("no user with e-mail {email}")))?;
                auth::repo::insert_token(conn, user.id, "api", &hash, &label, now, None)?;
                Ok(())
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{token}");
            Ok(())
        }
        Command::IngestEmail => anyhow::bail!("ingest-email is handled before the database is opened"),
        Command::Calendar {
            command: CalendarCommand::Import { file },
        } => {
            crate::startup::migrate(&ctx)?;
            eprintln!("{}", crate::sla::cli::import(&ctx, &file)?);
            Ok(())
        }
        Command::Sla {
            command:
                SlaCommand::Due {
                    calendar,
                    start,
                    target,
                    business_days,
                    explain,
                },
        } => {
            crate::startup::migrate(&ctx)?;
            for line in crate::sla::cli::due(&ctx, &calendar, &start, &target, business_days, explain)? {
                println!("{line}");
            }
            Ok(())
        }
        Command::Demo { tickets } => {
            crate::startup::migrate(&ctx)?;
            let report = crate::demo::seed(&ctx, tickets)?;
            eprintln!("{report}");
            Ok(())
        }
    }
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("TANGGAP_PASSWORD") {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(p == again, "the passwords differ");
        return Ok(p);
    }
    let mut p = String::new();
    std::io::stdin().read_to_string(&mut p)?;
    Ok(p.trim_end_matches(['\r', '\n']).to_string())
}
