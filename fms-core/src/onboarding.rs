//! Telegram deep-link onboarding: an invitation with an unguessable, expiring correlation id
//! (Telegram's `start` parameter), and the pure decision of what a callback does.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::ids::{TenantId, UserId};
use crate::payload::wire_time;
use crate::user::Role;

/// The default lifetime of a correlation id: 7 days.
pub const DEFAULT_TTL: Duration = Duration::days(7);
/// Telegram's limit for the `start` parameter.
pub const CORRELATION_ID_MAX: usize = 64;

/// Onboarding settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingSettings {
    /// How long a correlation id stays valid (default 7 days).
    pub ttl: Duration,
    /// The bot's username, for `https://t.me/<bot>?start=<correlation_id>`; no deep link when
    /// unset (Make builds it).
    pub bot_username: Option<String>,
}

impl Default for OnboardingSettings {
    fn default() -> Self {
        Self {
            ttl: DEFAULT_TTL,
            bot_username: None,
        }
    }
}

impl OnboardingSettings {
    /// Sets the lifetime.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the bot username.
    pub fn with_bot(mut self, bot: impl Into<String>) -> Self {
        self.bot_username = Some(bot.into());
        self
    }

    /// The deep link for `correlation_id`, when a bot is configured.
    pub fn deep_link(&self, correlation_id: &str) -> Option<String> {
        self.bot_username
            .as_deref()
            .map(|bot| format!("https://t.me/{bot}?start={correlation_id}"))
    }
}

/// A stored invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// The correlation id (base64url, 43 characters).
    pub correlation_id: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The invited user.
    pub user_id: UserId,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
    /// The chat bound by the callback, once completed.
    pub chat_id: Option<String>,
    /// When the callback completed it.
    pub completed_at: Option<DateTime<Utc>>,
}

/// A fresh correlation id: 32 random bytes (from the OS generator, through UUID v4) in
/// base64url without padding — 43 characters, within Telegram's 64.
pub fn new_correlation_id() -> String {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(Uuid::new_v4().as_bytes());
    crate::secret::base64_url(&bytes)
}

/// Whether `s` can be a correlation id (base64url characters, 1 to 64 long).
pub fn is_valid_correlation_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= CORRELATION_ID_MAX
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What a callback does with an invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackAction {
    /// Bind the chat and mark the user onboarded.
    Bind,
    /// Already bound to this same chat (Telegram clients resend /start): succeed, change
    /// nothing.
    AlreadyDone,
}

/// Why a callback is refused. The service reports [`CallbackRefusal::UsedByAnotherChat`] as a
/// conflict and [`CallbackRefusal::Expired`] as gone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackRefusal {
    /// Another chat completed the invitation.
    #[error("the invitation was already used by another chat")]
    UsedByAnotherChat,
    /// The invitation expired before anyone completed it.
    #[error("the invitation expired at {}", wire_time(*expired_at))]
    Expired {
        /// When it expired.
        expired_at: DateTime<Utc>,
    },
}

/// Decides a callback: the same chat again succeeds; another chat is refused; an expired
/// invitation is refused.
pub fn decide_callback(
    invitation: &Invitation,
    chat_id: &str,
    now: DateTime<Utc>,
) -> Result<CallbackAction, CallbackRefusal> {
    match (&invitation.completed_at, invitation.chat_id.as_deref()) {
        (Some(_), Some(bound)) if bound == chat_id => Ok(CallbackAction::AlreadyDone),
        (Some(_), _) => Err(CallbackRefusal::UsedByAnotherChat),
        (None, _) if now >= invitation.expires_at => Err(CallbackRefusal::Expired {
            expired_at: invitation.expires_at,
        }),
        (None, _) => Ok(CallbackAction::Bind),
    }
}

/// The payload queued for `MAKE_USER_ONBOARDING_WEBHOOK_URL`.
#[allow(clippy::too_many_arguments)]
pub fn request_payload(
    tenant_id: TenantId,
    user_id: UserId,
    email: &str,
    role: Role,
    name: Option<&str>,
    correlation_id: &str,
    deep_link: Option<&str>,
    expires_at: DateTime<Utc>,
) -> Value {
    json!({
        "event": "user_onboarding_requested",
        "tenant_id": tenant_id.to_string(),
        "user_id": user_id.to_string(),
        "email": email,
        "role": role.as_str(),
        "name": name,
        "correlation_id": correlation_id,
        "deep_link": deep_link,
        "expires_at": wire_time(expires_at),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn invitation() -> Invitation {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        Invitation {
            correlation_id: new_correlation_id(),
            tenant_id: TenantId::new(),
            user_id: UserId::new(),
            created_at: at,
            expires_at: at + DEFAULT_TTL,
            chat_id: None,
            completed_at: None,
        }
    }

    #[test]
    fn correlation_ids_are_unguessable_and_fit_telegram() {
        let a = new_correlation_id();
        let b = new_correlation_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(is_valid_correlation_id(&a), "{a}");
        assert!(!is_valid_correlation_id("has space"));
        assert!(!is_valid_correlation_id(&"a".repeat(65)));
    }

    #[test]
    fn callback_outcomes() {
        let inv = invitation();
        let early = inv.created_at + Duration::hours(1);
        assert_eq!(
            decide_callback(&inv, "1", early).unwrap(),
            CallbackAction::Bind
        );
        let late = inv.expires_at;
        assert_eq!(
            decide_callback(&inv, "1", late),
            Err(CallbackRefusal::Expired {
                expired_at: inv.expires_at
            })
        );
        let mut done = inv.clone();
        done.chat_id = Some("1".into());
        done.completed_at = Some(early);
        // The same chat again succeeds, even after expiry.
        assert_eq!(
            decide_callback(&done, "1", late).unwrap(),
            CallbackAction::AlreadyDone
        );
        assert_eq!(
            decide_callback(&done, "2", early),
            Err(CallbackRefusal::UsedByAnotherChat)
        );
    }

    #[test]
    fn deep_links() {
        let s = OnboardingSettings::default().with_bot("fms_bot");
        assert_eq!(
            s.deep_link("abc").as_deref(),
            Some("https://t.me/fms_bot?start=abc")
        );
        assert_eq!(OnboardingSettings::default().deep_link("abc"), None);
    }
}
