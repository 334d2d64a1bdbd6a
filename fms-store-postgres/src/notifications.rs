//! Dashboard notifications, API key hashes and queue counts.

use chrono::{DateTime, Utc};
use fms_core::ids::TenantId;
use fms_core::notification::{Notification, NotificationQuery, Recipient};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::row::at;
use async_trait::async_trait;
use fms_core::store::{NotificationStore, StoreError};

use crate::PgStore;

/// A notification as a row; also the element of the JSON array the write statements insert
/// with `jsonb_to_recordset` (so any number of them costs no extra round trip).
#[derive(Debug, Serialize, Deserialize, sqlx::FromRow)]
pub(crate) struct NoteRow {
    id: Uuid,
    tenant_id: Uuid,
    recipient_user: Option<Uuid>,
    recipient_role: Option<String>,
    kind: String,
    message: String,
    ticket_id: Option<Uuid>,
    user_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    read_at: Option<DateTime<Utc>>,
}

impl NoteRow {
    fn of(n: &Notification) -> Self {
        let (recipient_user, recipient_role) = match n.recipient {
            Recipient::User(u) => (Some(u.as_uuid()), None),
            Recipient::Role(r) => (None, Some(r.as_str().to_owned())),
        };
        Self {
            id: n.id,
            tenant_id: n.tenant_id.as_uuid(),
            recipient_user,
            recipient_role,
            kind: n.kind.as_str().to_owned(),
            message: n.message.clone(),
            ticket_id: n.ticket_id.map(|t| t.as_uuid()),
            user_id: n.user_id.map(|u| u.as_uuid()),
            created_at: at(n.created_at),
            read_at: n.read_at.map(at),
        }
    }

    fn into_domain(self) -> Result<Notification> {
        let recipient = match (self.recipient_user, self.recipient_role) {
            (Some(u), _) => Recipient::User(u.into()),
            (None, Some(r)) => Recipient::Role(
                r.parse()
                    .map_err(|e| Error::Corrupt(format!("recipient role {r:?}: {e}")))?,
            ),
            (None, None) => return Err(Error::Corrupt("notification without recipient".into())),
        };
        Ok(Notification {
            id: self.id,
            tenant_id: self.tenant_id.into(),
            recipient,
            kind: self
                .kind
                .parse()
                .map_err(|e| Error::Corrupt(format!("notification kind: {e}")))?,
            message: self.message,
            ticket_id: self.ticket_id.map(Into::into),
            user_id: self.user_id.map(Into::into),
            created_at: self.created_at,
            read_at: self.read_at,
        })
    }
}

/// `notifications` as the JSON array the write statements take.
pub(crate) fn notes_json(notifications: &[Notification]) -> Json<Vec<NoteRow>> {
    Json(notifications.iter().map(NoteRow::of).collect())
}

pub(crate) async fn add_notification(pool: &PgPool, n: &Notification) -> Result<()> {
    let mut conn = pool.acquire().await?;
    insert_many(&mut conn, &notes_json(std::slice::from_ref(n))).await
}

pub(crate) async fn insert_many(conn: &mut PgConnection, notes: &Json<Vec<NoteRow>>) -> Result<()> {
    sqlx::query(
        "INSERT INTO notifications (id, tenant_id, recipient_user, recipient_role, kind, \
         message, ticket_id, user_id, created_at, read_at) \
         SELECT n.id, n.tenant_id, n.recipient_user, n.recipient_role, n.kind, n.message, \
         n.ticket_id, n.user_id, n.created_at, n.read_at \
         FROM jsonb_to_recordset($1) AS n(id uuid, tenant_id uuid, recipient_user uuid, \
         recipient_role text, kind text, message text, ticket_id uuid, user_id uuid, \
         created_at timestamptz, read_at timestamptz)",
    )
    .bind(notes)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn notifications(
    pool: &PgPool,
    q: &NotificationQuery,
) -> Result<Vec<Notification>> {
    let (user, role) = match q.recipient {
        Some((u, r)) => (Some(u.as_uuid()), Some(r.as_str())),
        None => (None, None),
    };
    let (before_at, before_id) = match q.before {
        Some((t, id)) => (Some(t), Some(id)),
        None => (None, None),
    };
    sqlx::query_as::<_, NoteRow>(
        "SELECT * FROM notifications WHERE tenant_id = $1 \
         AND ($2::uuid IS NULL OR recipient_user = $2 OR recipient_role = $3) \
         AND (NOT $4 OR read_at IS NULL) \
         AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6)) \
         ORDER BY created_at DESC, id DESC LIMIT $7",
    )
    .bind(q.tenant_id.as_uuid())
    .bind(user)
    .bind(role)
    .bind(q.unread_only)
    .bind(before_at)
    .bind(before_id)
    .bind(i64::from(q.limit))
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(NoteRow::into_domain)
    .collect()
}

pub(crate) async fn mark_read(
    pool: &PgPool,
    tenant: Option<TenantId>,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Notification> {
    sqlx::query_as::<_, NoteRow>(
        "UPDATE notifications SET read_at = COALESCE(read_at, $3) \
         WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2) RETURNING *",
    )
    .bind(id)
    .bind(tenant.map(|t| t.as_uuid()))
    .bind(at(now))
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound("notification"))?
    .into_domain()
}

#[async_trait]
impl NotificationStore for PgStore {
    async fn add_notification(&self, notification: &Notification) -> Result<(), StoreError> {
        Ok(add_notification(&self.pool, notification).await?)
    }

    async fn notifications(
        &self,
        query: &NotificationQuery,
    ) -> Result<Vec<Notification>, StoreError> {
        Ok(notifications(&self.pool, query).await?)
    }

    async fn mark_notification_read(
        &self,
        tenant: Option<TenantId>,
        id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<Notification, StoreError> {
        Ok(mark_read(&self.pool, tenant, id, now).await?)
    }
}
