//! Instagram and WhatsApp, both Meta platforms: signed webhooks in (stored raw, processed from the
//! durable queue), Graph API replies out through the outbox.

pub mod event;
pub mod graph;
pub mod inbox;
pub mod instagram;
pub mod outbound;
pub mod process;
pub mod signature;
pub mod webhook;
pub mod whatsapp;
pub mod window;

use crate::config::{SecretList, Settings};
use crate::tickets::model::Channel;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    Instagram,
    Whatsapp,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Instagram => "instagram",
            Platform::Whatsapp => "whatsapp",
        }
    }

    pub fn parse(s: &str) -> Option<Platform> {
        match s {
            "instagram" => Some(Platform::Instagram),
            "whatsapp" => Some(Platform::Whatsapp),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Platform::Instagram => "Instagram",
            Platform::Whatsapp => "WhatsApp",
        }
    }

    pub fn channel(self) -> Channel {
        match self {
            Platform::Instagram => Channel::Instagram,
            Platform::Whatsapp => Channel::Whatsapp,
        }
    }

    pub fn app_secrets(self, s: &Settings) -> &SecretList {
        match self {
            Platform::Instagram => &s.instagram.app_secrets,
            Platform::Whatsapp => &s.whatsapp.app_secrets,
        }
    }

    pub fn verify_token(self, s: &Settings) -> &str {
        match self {
            Platform::Instagram => s.instagram.verify_token.expose(),
            Platform::Whatsapp => s.whatsapp.verify_token.expose(),
        }
    }

    /// Our account on the platform: the Instagram account id, or the WhatsApp phone number id.
    pub fn account_id(self, s: &Settings) -> &str {
        match self {
            Platform::Instagram => &s.instagram.account_id,
            Platform::Whatsapp => &s.whatsapp.phone_number_id,
        }
    }

    pub fn access_token(self, s: &Settings) -> &str {
        match self {
            Platform::Instagram => s.instagram.access_token.expose(),
            Platform::Whatsapp => s.whatsapp.access_token.expose(),
        }
    }

    pub fn sends_per_second(self, s: &Settings) -> u32 {
        match self {
            Platform::Instagram => s.instagram.sends_per_second,
            Platform::Whatsapp => s.whatsapp.sends_per_second,
        }
    }

    /// The Graph API root for this platform, with the version: `https://graph.instagram.com/v23.0`.
    pub fn graph_root(self, s: &Settings) -> String {
        let base = if s.meta.graph_base_url.is_empty() {
            match self {
                Platform::Instagram => "https://graph.instagram.com",
                Platform::Whatsapp => "https://graph.facebook.com",
            }
        } else {
            s.meta.graph_base_url.trim_end_matches('/')
        };
        format!("{base}/{}", s.meta.api_version)
    }

    /// Longest text the platform accepts in one message, in characters.
    pub fn text_limit(self) -> usize {
        match self {
            Platform::Instagram => 1000,
            Platform::Whatsapp => 4096,
        }
    }
}
