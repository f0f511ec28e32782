//! `tanggap demo`: a realistic Indonesian demo set for a public complaint programme — teams,
//! categories, a supervisor and agents, and tickets from every channel over the last 30 days.
//!
//! Tickets enter only through [`crate::intake`], as a channel adapter would hand them over, and
//! every later change goes through the ticket service, so the audit trail, outbox jobs and
//! webhooks are the real ones. The set is deterministic (a seeded RNG per ticket index) and safe to
//! re-run: existing teams, categories and users are reused, and each message carries a fixed
//! external id, so intake recognises what is already stored and nothing is duplicated.

mod data;
mod plan;
mod reference;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::seq::SliceRandom;

use crate::clock::FakeClock;
use crate::context::AppContext;
use crate::error::AppResult;
use crate::intake::{self, InboundMessage, IntakeOutcome};
use crate::tickets::service::{self, ReplyKind, TicketPatch};
use crate::tickets::{Actor, Priority, Status};
use plan::{Fate, Plan};
use reference::{Reference, ensure_reference};

/// Seeds reference data and `tickets` tickets; returns a one-paragraph report.
pub fn seed(ctx: &AppContext, tickets: usize) -> anyhow::Result<String> {
    let reference = ensure_reference(ctx)?;
    let now = ctx.clock.now();
    let mut plans = (0..tickets)
        .map(|i| Plan::new(i, now))
        .collect::<anyhow::Result<Vec<Plan>>>()?;
    // Chronological, so ticket numbers (date + daily counter) follow the received times.
    plans.sort_by_key(|p| (p.at, p.index));
    let clock = Arc::new(FakeClock::new(now));
    let mut demo_ctx = ctx.clone();
    demo_ctx.clock = clock.clone();
    let mut run = Run {
        ctx: demo_ctx,
        clock,
        now,
        reference: &reference,
        tally: Tally::default(),
    };
    for plan in plans {
        let index = plan.index;
        run.play(plan)
            .map_err(|e| anyhow::anyhow!("demo ticket with index {index}: {e}"))?;
    }
    Ok(run.tally.report(&reference, &ctx.settings.public_base()))
}

#[derive(Default)]
struct Tally {
    created: usize,
    skipped: usize,
    per_channel: BTreeMap<&'static str, usize>,
    statuses: BTreeMap<&'static str, usize>,
    inbound: usize,
    replies: usize,
    notes: usize,
    /// Number and access token of a recent ticket with an agent's answer, to show the status page.
    sample: Option<(String, String)>,
}

impl Tally {
    fn report(&self, r: &Reference, public_base: &str) -> String {
        let list = |m: &BTreeMap<&str, usize>| m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ");
        format!(
            "Demo data: {} teams ({} new), {} categories ({} new), {} staff — 1 supervisor and {} active agents \
             ({} new; demo staff have no password, add your own login with `tanggap user add`). \
             Tickets: {} created through intake{}{}. Messages added: {} from citizens, {} agent replies \
             (queued for delivery on their channel), {} internal notes. Statuses of the new tickets: {}. \
             {} ticket(s) already present were left as they were.{}",
            r.teams.0,
            r.teams.1,
            r.categories.len(),
            r.new_categories,
            r.staff.0,
            r.agents.len(),
            r.staff.1,
            self.created,
            if self.created > 0 { " by channel: " } else { "" },
            list(&self.per_channel),
            self.inbound,
            self.replies,
            self.notes,
            if self.statuses.is_empty() {
                "none".into()
            } else {
                list(&self.statuses)
            },
            self.skipped,
            match &self.sample {
                Some((number, token)) => format!(" A citizen's view: {public_base}/status/{number}?token={token}"),
                None => String::new(),
            },
        )
    }
}

struct Run<'a> {
    /// The caller's context with a clock the demo moves through each ticket's history.
    ctx: AppContext,
    clock: Arc<FakeClock>,
    now: DateTime<Utc>,
    reference: &'a Reference,
    tally: Tally,
}

/// Where a ticket stands while its history is played.
struct Progress {
    id: i64,
    at: DateTime<Utc>,
    status: Status,
    agent: (i64, String),
    messages: usize,
}

impl Run<'_> {
    fn play(&mut self, mut plan: Plan) -> anyhow::Result<()> {
        let (subject, text) = plan.first_message();
        let first = self.inbound(&plan, 0, plan.at, subject, text)?;
        if first.duplicate || !first.created_ticket {
            self.tally.skipped += 1;
            return Ok(());
        }
        self.tally.created += 1;
        *self.tally.per_channel.entry(plan.channel.as_str()).or_default() += 1;
        let topic = data::TOPICS
            .iter()
            .position(|t| std::ptr::eq(t, plan.topic))
            .unwrap_or(0);
        let (category, team) = self.reference.categories[topic];
        let agent = self.pick_agent(&mut plan, team);
        let mut t = Progress {
            id: first.ticket_id,
            at: plan.at,
            status: Status::New,
            agent,
            messages: 1,
        };
        self.history(&mut plan, &mut t, category, team)?;
        if t.status != Status::New
            && let Some(token) = first.access_token
        {
            self.tally.sample = Some((first.ticket_number, token));
        }
        *self.tally.statuses.entry(t.status.as_str()).or_default() += 1;
        Ok(())
    }

    /// Plays a ticket's history until its fate or the present, whichever comes first: a step
    /// that would lie in the future is not taken.
    fn history(&mut self, plan: &mut Plan, t: &mut Progress, category: i64, team: Option<i64>) -> anyhow::Result<()> {
        let supervisor = Actor::User(self.reference.supervisor);
        if plan.fate == Fate::Untouched {
            if plan.rng.gen_bool(0.5) && self.advance(plan, t, 6 * 60, 30 * 60) {
                self.citizen(plan, t, data::NUDGES)?;
            }
            return Ok(());
        }
        // Triage by the supervisor: category (and so team), priority, tags, assignee.
        if !self.advance(plan, t, 3, 90) {
            return Ok(());
        }
        let mut tags = vec![plan.topic.tag.to_string()];
        if plan.priority == Priority::Urgent {
            tags.push("perlu-eskalasi".into());
        }
        let triage = TicketPatch {
            priority: Some(plan.priority),
            category_id: Some(Some(category)),
            team_id: Some(team),
            assignee_id: Some(Some(t.agent.0)),
            tags: Some(tags),
            ..Default::default()
        };
        self.update(supervisor, t, &triage)?;
        if plan.rng.gen_bool(0.35) && self.advance(plan, t, 5, 120) {
            let note = plan.say(plan.topic.notes);
            self.agent(t, ReplyKind::Note, &note, None)?;
        }
        let fast = matches!(plan.priority, Priority::High | Priority::Urgent);
        if !self.advance(plan, t, 10, if fast { 90 } else { 6 * 60 }) {
            return Ok(());
        }
        let agent_name = t.agent.1.clone();
        if matches!(
            plan.fate,
            Fate::WaitingOnCitizen | Fate::CitizenAnswered | Fate::ResolvedAfterData
        ) {
            let text = plan.agent_text(&agent_name, plan.topic.asks);
            self.agent(t, ReplyKind::Reply, &text, Some(Status::Pending))?;
            if plan.fate == Fate::WaitingOnCitizen || !self.advance(plan, t, 60, 30 * 60) {
                return Ok(());
            }
            self.citizen(plan, t, plan.topic.answers)?;
            if !self.advance(plan, t, 20, 24 * 60) {
                return Ok(());
            }
        }
        match plan.fate {
            Fate::Working | Fate::CitizenAnswered => {
                let text = plan.agent_text(&agent_name, data::PROGRESS);
                self.agent(t, ReplyKind::Reply, &text, None)?;
                if plan.rng.gen_bool(0.3) && self.advance(plan, t, 12 * 60, 72 * 60) {
                    self.citizen(plan, t, data::NUDGES)?;
                }
            }
            Fate::OnHold => {
                let text = plan.agent_text(&agent_name, data::PROGRESS);
                self.agent(t, ReplyKind::Reply, &text, None)?;
                if self.advance(plan, t, 5, 60) {
                    let note = plan.fill("Menunggu tindak lanjut dari {pihak}; status ditahan sampai ada konfirmasi.");
                    self.agent(t, ReplyKind::Note, &note, Some(Status::OnHold))?;
                }
            }
            _ => {
                let text = plan.agent_text(&agent_name, plan.topic.fixes);
                self.agent(t, ReplyKind::Reply, &text, Some(Status::Resolved))?;
                if plan.fate == Fate::Reopened && self.advance(plan, t, 120, 48 * 60) {
                    // Within the reopen window: intake reopens the ticket.
                    self.citizen(plan, t, data::RELAPSES)?;
                    if self.advance(plan, t, 30, 8 * 60) {
                        let solved = plan.rng.gen_bool(0.5);
                        let templates = if solved { plan.topic.fixes } else { data::PROGRESS };
                        let text = plan.agent_text(&agent_name, templates);
                        self.agent(t, ReplyKind::Reply, &text, solved.then_some(Status::Resolved))?;
                    }
                }
                if plan.fate == Fate::Closed && self.advance(plan, t, 3 * 24 * 60, 5 * 24 * 60) {
                    let close = TicketPatch {
                        status: Some(Status::Closed),
                        ..Default::default()
                    };
                    self.update(supervisor, t, &close)?;
                }
            }
        }
        Ok(())
    }

    fn pick_agent(&self, plan: &mut Plan, team: Option<i64>) -> (i64, String) {
        let in_team: Vec<_> = self.reference.agents.iter().filter(|a| a.2 == team).collect();
        let pool: Vec<_> = if in_team.is_empty() {
            self.reference.agents.iter().collect()
        } else {
            in_team
        };
        pool.choose(&mut plan.rng)
            .map(|a| (a.0, a.1.clone()))
            .unwrap_or((self.reference.supervisor, "Petugas".into()))
    }

    /// Moves this ticket's clock on by a random number of minutes; false if that is past now.
    fn advance(&self, plan: &mut Plan, t: &mut Progress, min_minutes: i64, max_minutes: i64) -> bool {
        let next = t.at + Duration::minutes(plan.rng.gen_range(min_minutes..=max_minutes));
        if next > self.now {
            return false;
        }
        t.at = next;
        self.clock.set(next);
        true
    }

    fn inbound(
        &mut self,
        plan: &Plan,
        seq: usize,
        at: DateTime<Utc>,
        subject: Option<String>,
        text: String,
    ) -> AppResult<IntakeOutcome> {
        self.clock.set(at);
        let msg = InboundMessage {
            channel: plan.channel,
            external_id: Some(format!("demo-{}-{:06}-{seq}", plan.channel, plan.index)),
            sender: plan.sender.clone(),
            also_known_as: Vec::new(),
            display_name: Some(plan.name.clone()),
            subject,
            text,
            html: None,
            attachments: Vec::new(),
            ticket_ref: None,
            thread_key: None,
            metadata: None,
            received_at: at,
        };
        let out = intake::ingest_blocking(&self.ctx, &msg)?;
        if !out.duplicate {
            self.tally.inbound += 1;
        }
        Ok(out)
    }

    /// A later message from the citizen, threaded by intake into the same ticket.
    fn citizen(&mut self, plan: &mut Plan, t: &mut Progress, templates: &[&str]) -> AppResult<()> {
        let text = plan.say(templates);
        let out = self.inbound(plan, t.messages, t.at, None, text)?;
        t.messages += 1;
        if out.reopened || t.status == Status::Pending {
            t.status = Status::Open;
        }
        Ok(())
    }

    /// An agent reply or note, optionally followed by a status change, in one transaction.
    fn agent(&mut self, t: &mut Progress, kind: ReplyKind, text: &str, status: Option<Status>) -> AppResult<()> {
        let (user, id) = (t.agent.0, t.id);
        let ctx = &self.ctx;
        let ticket = ctx.write_blocking(|conn| {
            let (mut ticket, _, _) = service::add_agent_message(ctx, conn, user, id, kind, text, None)?;
            if let Some(s) = status.filter(|s| s.as_str() != ticket.status) {
                let patch = TicketPatch {
                    status: Some(s),
                    ..Default::default()
                };
                ticket = service::update_ticket(ctx, conn, Actor::User(user), id, &patch)?;
            }
            Ok(ticket)
        })?;
        match kind {
            ReplyKind::Reply => self.tally.replies += 1,
            ReplyKind::Note => self.tally.notes += 1,
        }
        t.status = Status::parse(&ticket.status).unwrap_or(t.status);
        Ok(())
    }

    fn update(&mut self, actor: Actor, t: &mut Progress, patch: &TicketPatch) -> AppResult<()> {
        let ctx = &self.ctx;
        let ticket = ctx.write_blocking(|conn| service::update_ticket(ctx, conn, actor, t.id, patch))?;
        t.status = Status::parse(&ticket.status).unwrap_or(t.status);
        Ok(())
    }
}
