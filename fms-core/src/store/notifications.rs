//! Dashboard notifications.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ids::TenantId;
use crate::notification::{Notification, NotificationQuery};

use super::StoreError;

/// Dashboard notifications.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Stores a notification.
    async fn add_notification(&self, notification: &Notification) -> Result<(), StoreError>;
    /// Lists notifications, newest first.
    async fn notifications(
        &self,
        query: &NotificationQuery,
    ) -> Result<Vec<Notification>, StoreError>;
    /// Marks a notification read (keeping the first read time) and returns it. With
    /// `tenant`, a notification of another tenant is `NotFound` and stays unread.
    async fn mark_notification_read(
        &self,
        tenant: Option<TenantId>,
        id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<Notification, StoreError>;
}
