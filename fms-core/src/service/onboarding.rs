//! Telegram deep-link onboarding and dashboard notifications.

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ids::{TenantId, UserId};
use crate::intake::{SHORT_TEXT_MAX, check_text};
use crate::notification::{Notification, NotificationKind, NotificationQuery};
use crate::onboarding::{
    CallbackAction, CallbackRefusal, Invitation, decide_callback, is_valid_correlation_id,
    new_correlation_id, request_payload,
};
use crate::store::{CompleteInvitation, NewInvitation, StoreError};
use crate::user::{OnboardingStatus, Role, User};

use super::Fms;
use super::directory::required;

/// An onboarding request: invite `email` as `role`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingRequest {
    /// Tenant.
    pub tenant_id: TenantId,
    /// Where Make sends the invite.
    pub email: String,
    /// The role the user gets.
    pub role: Role,
    /// Display name (defaults to the email's local part for a new user).
    pub name: Option<String>,
}

/// The answer to an onboarding request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingStarted {
    /// The pending user.
    pub user: User,
    /// The invitation (its correlation id is Telegram's `start` parameter).
    pub invitation: Invitation,
    /// `https://t.me/<bot>?start=<correlation_id>`, when a bot is configured.
    pub deep_link: Option<String>,
}

impl Fms {
    /// Creates or updates the pending user, issues an expiring correlation id and queues the
    /// payload for the onboarding webhook, in one transaction.
    pub async fn request_onboarding(&self, req: OnboardingRequest) -> Result<OnboardingStarted> {
        let email = required("email", &req.email)?;
        let at = email.find('@').unwrap_or(0);
        if at == 0 || at + 1 >= email.len() || email.contains(char::is_whitespace) {
            return Err(Error::invalid("email", "must be an email address"));
        }
        let name = match req.name.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(n) => {
                check_text("name", n, SHORT_TEXT_MAX)?;
                Some(n.to_owned())
            }
        };
        self.store.tenant(req.tenant_id).await?;
        let now = self.clock.now();
        let correlation_id = new_correlation_id();
        let deep_link = self.onboarding.deep_link(&correlation_id);
        let user = User {
            id: UserId::new(),
            tenant_id: req.tenant_id,
            name: name.clone().unwrap_or_else(|| email[..at].to_owned()),
            role: req.role,
            active: true,
            telegram_chat_id: None,
            email: Some(email.clone()),
            phone: None,
            designation: None,
            department: None,
            skills: Vec::new(),
            buildings: Vec::new(),
            onboarding: OnboardingStatus::Pending,
            created_at: now,
        };
        let invitation = Invitation {
            correlation_id: correlation_id.clone(),
            tenant_id: req.tenant_id,
            user_id: user.id,
            created_at: now,
            expires_at: now + self.onboarding.ttl,
            chat_id: None,
            completed_at: None,
        };
        let payload = request_payload(
            req.tenant_id,
            user.id,
            &email,
            req.role,
            name.as_deref(),
            &correlation_id,
            deep_link.as_deref(),
            invitation.expires_at,
        );
        let stored = self
            .store
            .create_invitation(&NewInvitation {
                user,
                invitation: invitation.clone(),
                payload,
            })
            .await?;
        self.enqueued();
        Ok(OnboardingStarted {
            invitation: Invitation {
                user_id: stored.id,
                ..invitation
            },
            user: stored,
            deep_link,
        })
    }

    /// The callback when the user pressed Start: binds the chat id and marks the user
    /// onboarded. The same chat again succeeds (Telegram clients resend /start); another
    /// chat -> conflict; expired -> gone; unknown (or another tenant's) -> not found; a chat
    /// id already bound to another user of the tenant -> conflict.
    pub async fn complete_onboarding(
        &self,
        tenant: TenantId,
        correlation_id: &str,
        chat_id: &str,
    ) -> Result<User> {
        let correlation_id = correlation_id.trim();
        if correlation_id.is_empty() {
            return Err(Error::MissingField {
                field: "correlation_id".into(),
            });
        }
        if !is_valid_correlation_id(correlation_id) {
            return Err(Error::invalid("correlation_id", "not a correlation id"));
        }
        let chat_id = required("chat_id", chat_id)?;
        let not_found = || Error::NotFound { what: "invitation" };
        let invitation = match self.store.invitation(correlation_id).await {
            Ok(i) if i.tenant_id == tenant => i,
            Ok(_) | Err(StoreError::NotFound { .. }) => return Err(not_found()),
            Err(e) => return Err(e.into()),
        };
        let now = self.clock.now();
        match decide_callback(&invitation, &chat_id, now)? {
            CallbackAction::AlreadyDone => Ok(self.store.user(invitation.user_id).await?),
            CallbackAction::Bind => {
                let notification = Notification::for_admins(
                    tenant,
                    NotificationKind::UserOnboarded,
                    "a user finished Telegram onboarding",
                    now,
                )
                .about_user(invitation.user_id);
                let done = CompleteInvitation {
                    correlation_id: correlation_id.to_owned(),
                    chat_id: chat_id.clone(),
                    now,
                    notification,
                };
                match self.store.complete_invitation(&done).await {
                    Ok(user) => Ok(user),
                    // A concurrent callback completed it first: decide again on what it did.
                    Err(StoreError::Conflict { reason }) => {
                        let again = self.store.invitation(correlation_id).await?;
                        match decide_callback(&again, &chat_id, now) {
                            Ok(CallbackAction::AlreadyDone) => {
                                Ok(self.store.user(again.user_id).await?)
                            }
                            Ok(CallbackAction::Bind) => Err(Error::Conflict { reason }),
                            Err(e) => Err(e.into()),
                        }
                    }
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// Lists notifications, newest first.
    pub async fn notifications(&self, query: &NotificationQuery) -> Result<Vec<Notification>> {
        Ok(self.store.notifications(query).await?)
    }

    /// Marks a notification read. With `tenant`, another tenant's notification is not found
    /// (and stays unread).
    pub async fn mark_notification_read(
        &self,
        tenant: Option<TenantId>,
        id: Uuid,
    ) -> Result<Notification> {
        Ok(self
            .store
            .mark_notification_read(tenant, id, self.clock.now())
            .await?)
    }
}

impl From<CallbackRefusal> for Error {
    fn from(refusal: CallbackRefusal) -> Self {
        let reason = refusal.to_string();
        match refusal {
            CallbackRefusal::UsedByAnotherChat => Error::Conflict { reason },
            CallbackRefusal::Expired { .. } => Error::Gone { reason },
        }
    }
}
