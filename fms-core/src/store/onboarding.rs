//! Telegram onboarding invitations: the request (pending user, invitation and its queued
//! webhook in one transaction) and the fenced completion.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::notification::Notification;
use crate::onboarding::Invitation;
use crate::user::User;

use super::StoreError;

/// An onboarding request, written in one transaction: the pending user (created, or the
/// tenant's existing user with that email updated), the invitation, and the queued payload.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInvitation {
    /// The user to create when the tenant has no user with `email` (its id is the
    /// invitation's `user_id`).
    pub user: User,
    /// The invitation (its `user_id` is replaced by the existing user's id when there is one).
    pub invitation: Invitation,
    /// The payload for the onboarding webhook; its `user_id` field is rewritten likewise.
    pub payload: serde_json::Value,
}

/// The fenced completion of an invitation: binds the chat only if the invitation is still
/// open (`Conflict` otherwise), fails with `Conflict` if the chat id belongs to another user
/// of the tenant, and writes the notification, all in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct CompleteInvitation {
    /// The invitation.
    pub correlation_id: String,
    /// The chat to bind.
    pub chat_id: String,
    /// When.
    pub now: DateTime<Utc>,
    /// The dashboard notification ("user onboarded").
    pub notification: Notification,
}

/// Onboarding invitations. Their webhook rows are a delivery queue of their own
/// ([`QueueStore<OnboardingQueue>`](super::QueueStore)).
#[async_trait]
pub trait OnboardingStore: Send + Sync {
    /// Writes an onboarding request (see [`NewInvitation`]) and returns the pending user.
    async fn create_invitation(&self, new: &NewInvitation) -> Result<User, StoreError>;
    /// Loads an invitation by correlation id.
    async fn invitation(&self, correlation_id: &str) -> Result<Invitation, StoreError>;
    /// Completes an invitation (see [`CompleteInvitation`]) and returns the onboarded user.
    async fn complete_invitation(&self, done: &CompleteInvitation) -> Result<User, StoreError>;
}
