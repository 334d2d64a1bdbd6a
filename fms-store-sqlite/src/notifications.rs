//! Dashboard notifications.

use fms_core::ids::TenantId;
use fms_core::notification::{Notification, NotificationQuery, Recipient};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::row::{self, ms};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use fms_core::store::{NotificationStore, StoreError};

use crate::SqliteStore;

const COLUMNS: &str = "id, tenant_id, recipient_user, recipient_role, kind, message, ticket_id, \
     user_id, created_at, read_at";

pub(crate) fn insert(c: &Connection, n: &Notification) -> Result<()> {
    let (user, role) = match n.recipient {
        Recipient::User(u) => (Some(u.to_string()), None),
        Recipient::Role(r) => (None, Some(r.as_str())),
    };
    c.prepare_cached(&format!(
        "INSERT INTO notifications ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))?
    .execute(params![
        n.id.to_string(),
        n.tenant_id.to_string(),
        user,
        role,
        n.kind.as_str(),
        n.message,
        n.ticket_id.map(|t| t.to_string()),
        n.user_id.map(|u| u.to_string()),
        ms(n.created_at),
        n.read_at.map(ms),
    ])?;
    Ok(())
}

pub(crate) fn list(c: &Connection, q: &NotificationQuery) -> Result<Vec<Notification>> {
    let (user, role) = match q.recipient {
        Some((u, r)) => (Some(u.to_string()), Some(r.as_str())),
        None => (None, None),
    };
    let (before_at, before_id) = match q.before {
        Some((at, id)) => (Some(ms(at)), Some(id.to_string())),
        None => (None, None),
    };
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE tenant_id = ?1 \
         AND (?2 IS NULL OR recipient_user = ?2 OR recipient_role = ?3) \
         AND (NOT ?4 OR read_at IS NULL) \
         AND (?5 IS NULL OR created_at < ?5 OR (created_at = ?5 AND id < ?6)) \
         ORDER BY created_at DESC, id DESC LIMIT ?7"
    ))?;
    let rows = stmt.query_map(
        params![
            q.tenant_id.to_string(),
            user,
            role,
            q.unread_only,
            before_at,
            before_id,
            i64::from(q.limit)
        ],
        row::notification,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn mark_read(
    c: &mut Connection,
    tenant: Option<TenantId>,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Notification> {
    let tx = c.savepoint()?;
    let tenant = tenant.map(|t| t.to_string());
    tx.prepare_cached(
        "UPDATE notifications SET read_at = COALESCE(read_at, ?2) \
         WHERE id = ?1 AND (?3 IS NULL OR tenant_id = ?3)",
    )?
    .execute(params![id.to_string(), ms(now), tenant])?;
    let n = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM notifications WHERE id = ?1 AND (?2 IS NULL OR tenant_id = ?2)"
        ))?
        .query_row(params![id.to_string(), tenant], row::notification)
        .optional()?
        .ok_or(Error::NotFound("notification"))?;
    tx.commit()?;
    Ok(n)
}

#[async_trait]
impl NotificationStore for SqliteStore {
    async fn add_notification(&self, notification: &Notification) -> Result<(), StoreError> {
        let n = notification.clone();
        self.call(move |c| insert(c, &n)).await
    }

    async fn notifications(
        &self,
        query: &NotificationQuery,
    ) -> Result<Vec<Notification>, StoreError> {
        let q = query.clone();
        self.call(move |c| list(c, &q)).await
    }

    async fn mark_notification_read(
        &self,
        tenant: Option<TenantId>,
        id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<Notification, StoreError> {
        self.call(move |c| mark_read(c, tenant, id, now)).await
    }
}
