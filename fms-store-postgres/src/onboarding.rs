//! Onboarding invitations and their webhook queue (low volume: plain short transactions; the
//! endpoint's breaker row is locked `FOR UPDATE` where it is read to be changed).

use chrono::{DateTime, Utc};
use fms_core::onboarding::Invitation;
use fms_core::store::{CompleteInvitation, NewInvitation};
use fms_core::user::{OnboardingStatus, User};
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::notifications::notes_json;
use crate::row::{UserRow, at};
use async_trait::async_trait;
use fms_core::store::{OnboardingStore, StoreError};

use crate::PgStore;

#[derive(sqlx::FromRow)]
struct InvitationRow {
    correlation_id: String,
    tenant_id: Uuid,
    user_id: Uuid,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    chat_id: Option<String>,
    completed_at: Option<DateTime<Utc>>,
}

impl InvitationRow {
    fn into_domain(self) -> Invitation {
        Invitation {
            correlation_id: self.correlation_id,
            tenant_id: self.tenant_id.into(),
            user_id: self.user_id.into(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            chat_id: self.chat_id,
            completed_at: self.completed_at,
        }
    }
}

pub(crate) async fn create(pool: &PgPool, new: &NewInvitation) -> Result<User> {
    let inv = &new.invitation;
    let mut tx = pool.begin().await?;
    let existing = sqlx::query_as::<_, UserRow>(
        "SELECT * FROM users WHERE tenant_id = $1 AND email = $2 \
         ORDER BY created_at, id LIMIT 1 FOR UPDATE",
    )
    .bind(inv.tenant_id.as_uuid())
    .bind(&new.user.email)
    .fetch_optional(&mut *tx)
    .await?;
    let user = match existing {
        Some(row) => {
            let mut u = row.into_domain()?;
            u.role = new.user.role;
            if new.payload.get("name").is_some_and(|n| n.is_string()) {
                u.name = new.user.name.clone();
            }
            u.onboarding = OnboardingStatus::Pending;
            sqlx::query(
                "UPDATE users SET role = $2, name = $3, onboarding = 'pending' WHERE id = $1",
            )
            .bind(u.id.as_uuid())
            .bind(u.role.as_str())
            .bind(&u.name)
            .execute(&mut *tx)
            .await?;
            u
        }
        None => {
            crate::directory::insert_user(&mut tx, &new.user).await?;
            new.user.clone()
        }
    };
    let mut payload = new.payload.clone();
    payload["user_id"] = serde_json::Value::String(user.id.to_string());
    sqlx::query(
        "WITH inv AS (
             INSERT INTO invitations (correlation_id, tenant_id, user_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING correlation_id
         )
         INSERT INTO onboarding_webhook_queue (tenant_id, correlation_id, payload,
             next_attempt_at, created_at)
         SELECT $2, correlation_id, $6, $4, $4 FROM inv",
    )
    .bind(&inv.correlation_id)
    .bind(inv.tenant_id.as_uuid())
    .bind(user.id.as_uuid())
    .bind(at(inv.created_at))
    .bind(at(inv.expires_at))
    .bind(Json(&payload))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(user)
}

pub(crate) async fn invitation(pool: &PgPool, correlation_id: &str) -> Result<Invitation> {
    Ok(sqlx::query_as::<_, InvitationRow>(
        "SELECT correlation_id, tenant_id, user_id, created_at, expires_at, chat_id, \
         completed_at FROM invitations WHERE correlation_id = $1",
    )
    .bind(correlation_id)
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound("invitation"))?
    .into_domain())
}

pub(crate) async fn complete(pool: &PgPool, done: &CompleteInvitation) -> Result<User> {
    let inv = invitation(pool, &done.correlation_id).await?;
    let mut tx = pool.begin().await?;
    let closed = sqlx::query(
        "UPDATE invitations SET chat_id = $2, completed_at = $3 \
         WHERE correlation_id = $1 AND completed_at IS NULL",
    )
    .bind(&done.correlation_id)
    .bind(&done.chat_id)
    .bind(at(done.now))
    .execute(&mut *tx)
    .await?;
    if closed.rows_affected() == 0 {
        return Err(Error::Conflict(
            "the invitation was completed meanwhile".into(),
        ));
    }
    let bound = sqlx::query_as::<_, UserRow>(
        "UPDATE users SET telegram_chat_id = $2, onboarding = 'onboarded' WHERE id = $1 \
         RETURNING *",
    )
    .bind(inv.user_id.as_uuid())
    .bind(&done.chat_id)
    .fetch_one(&mut *tx)
    .await;
    let user = match bound {
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            return Err(Error::Conflict(
                "this chat id is already bound to another user of the tenant".into(),
            ));
        }
        other => other?,
    };
    crate::notifications::insert_many(
        &mut tx,
        &notes_json(std::slice::from_ref(&done.notification)),
    )
    .await?;
    tx.commit().await?;
    user.into_domain()
}

#[async_trait]
impl OnboardingStore for PgStore {
    async fn create_invitation(&self, new: &NewInvitation) -> Result<User, StoreError> {
        Ok(create(&self.pool, new).await?)
    }

    async fn invitation(&self, correlation_id: &str) -> Result<Invitation, StoreError> {
        Ok(invitation(&self.pool, correlation_id).await?)
    }

    async fn complete_invitation(&self, done: &CompleteInvitation) -> Result<User, StoreError> {
        Ok(complete(&self.pool, done).await?)
    }
}
