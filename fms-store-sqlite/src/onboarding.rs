//! Onboarding invitations (their webhook rows are a delivery queue: `queue.rs`).

use fms_core::onboarding::Invitation;
use fms_core::store::{CompleteInvitation, NewInvitation};
use fms_core::user::User;
use rusqlite::{Connection, OptionalExtension, params};

use crate::directory;
use crate::error::{Error, Result};
use crate::row::{self, USER_COLUMNS, ms};
use async_trait::async_trait;
use fms_core::store::{OnboardingStore, StoreError};

use crate::SqliteStore;

pub(crate) fn create(c: &mut Connection, new: &NewInvitation) -> Result<User> {
    let tx = c.savepoint()?;
    let inv = &new.invitation;
    let existing = tx
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = ?1 AND email = ?2 \
             ORDER BY created_at, id LIMIT 1"
        ))?
        .query_row(
            params![inv.tenant_id.to_string(), new.user.email],
            row::user,
        )
        .optional()?;
    let user = match existing {
        Some(mut u) => {
            u.role = new.user.role;
            if new.payload.get("name").is_some_and(|n| n.is_string()) {
                u.name = new.user.name.clone();
            }
            u.onboarding = fms_core::user::OnboardingStatus::Pending;
            tx.prepare_cached(
                "UPDATE users SET role = ?2, name = ?3, onboarding = 'pending' WHERE id = ?1",
            )?
            .execute(params![u.id.to_string(), u.role.as_str(), u.name])?;
            u
        }
        None => {
            directory::create_user(&tx, &new.user)?;
            new.user.clone()
        }
    };
    tx.prepare_cached(
        "INSERT INTO invitations (correlation_id, tenant_id, user_id, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        inv.correlation_id,
        inv.tenant_id.to_string(),
        user.id.to_string(),
        ms(inv.created_at),
        ms(inv.expires_at)
    ])?;
    let mut payload = new.payload.clone();
    payload["user_id"] = serde_json::Value::String(user.id.to_string());
    tx.prepare_cached(
        "INSERT INTO onboarding_webhook_queue (tenant_id, correlation_id, payload, \
         next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![
        inv.tenant_id.to_string(),
        inv.correlation_id,
        serde_json::to_string(&payload)?,
        ms(inv.created_at)
    ])?;
    tx.commit()?;
    Ok(user)
}

pub(crate) fn invitation(c: &Connection, correlation_id: &str) -> Result<Invitation> {
    c.prepare_cached(
        "SELECT correlation_id, tenant_id, user_id, created_at, expires_at, chat_id, \
         completed_at FROM invitations WHERE correlation_id = ?1",
    )?
    .query_row([correlation_id], row::invitation)
    .optional()?
    .ok_or(Error::NotFound("invitation"))
}

pub(crate) fn complete(c: &mut Connection, done: &CompleteInvitation) -> Result<User> {
    let tx = c.savepoint()?;
    let inv = invitation(&tx, &done.correlation_id)?;
    let n = tx
        .prepare_cached(
            "UPDATE invitations SET chat_id = ?2, completed_at = ?3 \
             WHERE correlation_id = ?1 AND completed_at IS NULL",
        )?
        .execute(params![done.correlation_id, done.chat_id, ms(done.now)])?;
    if n == 0 {
        return Err(Error::Conflict(
            "the invitation was completed meanwhile".into(),
        ));
    }
    let bound = tx
        .prepare_cached(
            "UPDATE users SET telegram_chat_id = ?2, onboarding = 'onboarded' WHERE id = ?1",
        )?
        .execute(params![inv.user_id.to_string(), done.chat_id]);
    if let Err(rusqlite::Error::SqliteFailure(f, _)) = &bound
        && f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    {
        return Err(Error::Conflict(
            "this chat id is already bound to another user of the tenant".into(),
        ));
    }
    bound?;
    crate::notifications::insert(&tx, &done.notification)?;
    let user = directory::user(&tx, inv.user_id)?;
    tx.commit()?;
    Ok(user)
}

#[async_trait]
impl OnboardingStore for SqliteStore {
    async fn create_invitation(&self, new: &NewInvitation) -> Result<User, StoreError> {
        let new = new.clone();
        self.call(move |c| create(c, &new)).await
    }

    async fn invitation(&self, correlation_id: &str) -> Result<Invitation, StoreError> {
        let id = correlation_id.to_owned();
        self.call(move |c| invitation(c, &id)).await
    }

    async fn complete_invitation(&self, done: &CompleteInvitation) -> Result<User, StoreError> {
        let done = done.clone();
        self.call(move |c| complete(c, &done)).await
    }
}
