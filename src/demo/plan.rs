//! One demo ticket, fully determined by its index: who writes, on which channel, about what,
//! when, and what then happens to it; and the texts, assembled from the templates in `data`.

use chrono::{DateTime, Duration, Timelike, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::data::{self, Topic};
use crate::contacts::{Identity, IdentityKind};
use crate::tickets::{Channel, Priority};

const SEED: u64 = 0x5441_4E47_4741_5021;
const SPAN_DAYS: i64 = 30;
/// Relative frequency per channel, roughly as a contact centre sees them.
const CHANNELS: &[(Channel, u32)] = &[
    (Channel::Chat, 30),
    (Channel::Instagram, 22),
    (Channel::Email, 20),
    (Channel::Whatsapp, 14),
    (Channel::Phone, 8),
    (Channel::Web, 6),
];

/// What happens to a ticket after it arrives (as far as the clock has got).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Untouched,
    Working,
    WaitingOnCitizen,
    CitizenAnswered,
    OnHold,
    Resolved,
    ResolvedAfterData,
    Reopened,
    Closed,
}

const FATES: &[(Fate, u32)] = &[
    (Fate::Untouched, 6),
    (Fate::Working, 12),
    (Fate::WaitingOnCitizen, 10),
    (Fate::CitizenAnswered, 8),
    (Fate::OnHold, 9),
    (Fate::Resolved, 28),
    (Fate::ResolvedAfterData, 12),
    (Fate::Reopened, 5),
    (Fate::Closed, 10),
];

fn weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rng.gen_range(0..total);
    for (item, w) in items {
        if roll < *w {
            return *item;
        }
        roll -= w;
    }
    items[items.len() - 1].0
}

pub fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or("")
}

/// One demo ticket, fully determined by its index.
pub struct Plan {
    pub index: usize,
    pub at: DateTime<Utc>,
    pub rng: StdRng,
    pub topic: &'static Topic,
    pub channel: Channel,
    pub fate: Fate,
    pub priority: Priority,
    pub vars: Vec<(&'static str, String)>,
    pub sender: Identity,
    pub name: String,
}

/// The Indonesian greeting word for the time of day in WIB (UTC+7).
fn part_of_day(at: DateTime<Utc>) -> &'static str {
    match (at + Duration::hours(7)).hour() {
        4..=10 => "pagi",
        11..=14 => "siang",
        15..=17 => "sore",
        _ => "malam",
    }
}

impl Plan {
    pub fn new(index: usize, now: DateTime<Utc>) -> anyhow::Result<Plan> {
        let i = index as u64;
        let mut rng = StdRng::seed_from_u64(SEED ^ (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let weights: Vec<(usize, u32)> = data::TOPICS.iter().enumerate().map(|(k, t)| (k, t.weight)).collect();
        let topic = &data::TOPICS[weighted(&mut rng, &weights)];
        let channel = weighted(&mut rng, CHANNELS);
        let fate = weighted(&mut rng, FATES);
        let priority = weighted(
            &mut rng,
            &[
                (Priority::Low, if topic.tag == "informasi" { 40 } else { 6 }),
                (Priority::Normal, 70),
                (Priority::High, 15),
                (Priority::Urgent, 4),
            ],
        );
        let mut at = now - Duration::seconds(rng.gen_range(60..SPAN_DAYS * 86_400));
        // Few citizens write between midnight and six in the morning (WIB, UTC+7).
        if (at + Duration::hours(7)).hour() < 6 {
            at = (at + Duration::hours(6)).min(now - Duration::minutes(1));
        }
        let (first, last) = (pick(&mut rng, data::FIRST_NAMES), pick(&mut rng, data::LAST_NAMES));
        let name = format!("{first} {last}");
        // Identities carry the index, so every ticket has a citizen of its own.
        let sep = pick(&mut rng, &[".", "_", ""]);
        let email = format!(
            "{}{sep}{}{}@{}",
            first.to_lowercase(),
            last.to_lowercase(),
            index + 10,
            pick(&mut rng, data::MAIL_DOMAINS)
        );
        let digits = (i * 7_919 + 3_100_271) % 100_000_000;
        let phone = format!(
            "{}-{:04}-{:04}",
            pick(&mut rng, data::MOBILE_PREFIXES),
            digits / 10_000,
            digits % 10_000
        );
        let (kind, value) = match channel {
            Channel::Email | Channel::Web => (IdentityKind::Email, email.clone()),
            Channel::Phone => (IdentityKind::Phone, phone.clone()),
            Channel::Whatsapp => (IdentityKind::Whatsapp, phone.clone()),
            Channel::Instagram => (
                IdentityKind::Instagram,
                format!("178414{:011}", (i * 104_729 + 52_331_807) % 100_000_000_000),
            ),
            Channel::Chat => (
                IdentityKind::Chat,
                format!("vis_{:016x}", (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            ),
        };
        let sender = Identity::parse(kind, &value).map_err(anyhow::Error::msg)?;
        let vars = vec![
            ("{nama}", name.clone()),
            ("{gelombang}", rng.gen_range(12..72).to_string()),
            ("{bulan}", rng.gen_range(1..4).to_string()),
            ("{lama}", pick(&mut rng, data::DURATIONS).to_string()),
            ("{nominal}", pick(&mut rng, data::NOMINALS).to_string()),
            ("{ewallet}", pick(&mut rng, data::EWALLETS).to_string()),
            ("{pelatihan}", pick(&mut rng, data::TRAININGS).to_string()),
            ("{lembaga}", pick(&mut rng, data::PROVIDERS).to_string()),
            ("{jalan}", pick(&mut rng, data::STREETS).to_string()),
            ("{patokan}", pick(&mut rng, data::LANDMARKS).to_string()),
            ("{kecamatan}", pick(&mut rng, data::KECAMATAN).to_string()),
            ("{kelurahan}", pick(&mut rng, data::KELURAHAN).to_string()),
            ("{rt}", format!("00{}", rng.gen_range(1..10))),
            ("{nik4}", format!("{:04}", rng.gen_range(0..10_000))),
            (
                "{pelanggan}",
                format!("{:010}", rng.gen_range(1_000_000_000u64..9_999_999_999)),
            ),
            ("{telepon}", phone),
            ("{email}", email),
            ("{team}", topic.team.to_string()),
            ("{pihak}", topic.third_party.to_string()),
            ("{waktu}", part_of_day(at).to_string()),
        ];
        Ok(Plan {
            index,
            at,
            rng,
            topic,
            channel,
            fate,
            priority,
            vars,
            sender,
            name,
        })
    }

    /// One of `templates` at random, filled in.
    pub fn say(&mut self, templates: &[&str]) -> String {
        let template = pick(&mut self.rng, templates);
        self.fill(template)
    }

    pub fn fill(&self, template: &str) -> String {
        let mut s = template.to_string();
        for (key, value) in &self.vars {
            if s.contains(key) {
                s = s.replace(key, value);
            }
        }
        s
    }

    /// The first message as the citizen wrote it: (subject if the channel has one, text).
    pub fn first_message(&mut self) -> (Option<String>, String) {
        let subject = self.say(self.topic.subjects);
        let detail = self.say(self.topic.details);
        match self.channel {
            Channel::Email => (
                Some(subject),
                self.fill(&format!(
                    "Dengan hormat,\n\n{detail}\n\nAtas perhatian dan bantuannya saya ucapkan terima kasih.\n\n\
                     Hormat saya,\n{{nama}}\n{{telepon}}"
                )),
            ),
            Channel::Web => (
                Some(subject),
                self.fill(&format!("{detail}\n\nNama: {{nama}}\nTelepon: {{telepon}}")),
            ),
            Channel::Phone => {
                let (m, s) = (self.rng.gen_range(1..12), self.rng.gen_range(0..60));
                (
                    Some(subject),
                    format!("Ringkasan panggilan ({m} menit {s} detik): {detail}"),
                )
            }
            _ => {
                let greet = self.say(data::INFORMAL_GREETINGS);
                let opener = self.say(self.topic.openers);
                let closing = pick(&mut self.rng, data::INFORMAL_CLOSINGS);
                (
                    None,
                    format!("{greet} {opener}\n{detail}\n{closing}").trim_end().to_string(),
                )
            }
        }
    }

    /// An agent's answer in the register of the channel.
    pub fn agent_text(&mut self, agent: &str, templates: &[&str]) -> String {
        let core = self.say(templates);
        match self.channel {
            Channel::Email | Channel::Web => self.fill(&format!(
                "Yth. Bapak/Ibu {{nama}},\n\nTerima kasih telah menghubungi layanan pengaduan. {core}\n\n\
                 Salam,\n{agent} - Tim {{team}}"
            )),
            Channel::Phone => format!("Disampaikan kepada penelepon melalui telepon balik: {core}"),
            _ => {
                let first = self.name.split(' ').next().unwrap_or("");
                format!("Halo Kak {first}, terima kasih sudah menghubungi kami. {core}\n- {agent}")
            }
        }
    }
}
