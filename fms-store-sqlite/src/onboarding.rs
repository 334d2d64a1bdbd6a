//! Onboarding invitations and their webhook queue.

use chrono::DateTime;
use fms_core::delivery::BreakerState;
use fms_core::ids::TenantId;
use fms_core::onboarding::Invitation;
use fms_core::queue::{ClaimOptions, Completion, CompletionEffect};
use fms_core::store::{CompleteInvitation, NewInvitation, OnboardingClaim, OnboardingEntry};
use fms_core::user::User;
use rusqlite::{Connection, OptionalExtension, params};

use crate::directory;
use crate::error::{Error, Result};
use crate::queue::{QueueTables, breaker_of, finish};
use crate::row::{self, USER_COLUMNS, ms};

const ENDPOINT: &str = "onboarding";

/// Onboarding webhooks: their own rows, one endpoint breaker row named `onboarding`.
const ONBOARDING_QUEUE: QueueTables = QueueTables {
    rows: "onboarding_webhook_queue",
    breakers: "webhook_endpoints",
    breaker_key: "name",
};
const ENTRY_COLUMNS: &str = "id, tenant_id, correlation_id, state, attempts, next_attempt_at, \
     last_status_code, last_error, created_at";

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

pub(crate) fn entries(
    c: &Connection,
    tenant: TenantId,
    limit: u32,
) -> Result<Vec<OnboardingEntry>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM onboarding_webhook_queue WHERE tenant_id = ?1 \
         ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(
        params![tenant.to_string(), i64::from(limit)],
        row::onboarding_entry,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn claim(c: &mut Connection, o: &ClaimOptions) -> Result<Vec<OnboardingClaim>> {
    let tx = c.savepoint()?;
    let now = ms(o.now);
    let lease_end = ms(o.now + o.lease);
    let admission = breaker(&tx)?.admission(o.now);
    let probe = admission == fms_core::delivery::Admission::Probe;
    let limit = match admission {
        fms_core::delivery::Admission::Send => o.limit,
        fms_core::delivery::Admission::Probe => 1.min(o.limit),
        _ => 0,
    };
    if limit == 0 {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = tx
        .prepare_cached(
            "SELECT id FROM onboarding_webhook_queue WHERE state IN ('pending', 'leased') \
             AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
        )?
        .query_map(params![now, i64::from(limit)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if probe && !ids.is_empty() {
        // The probe slot is taken only by a row that is actually sent.
        tx.prepare_cached(
            "UPDATE webhook_endpoints SET endpoint_probe_until = ?2 WHERE name = ?1",
        )?
        .execute(params![ENDPOINT, lease_end])?;
    }
    let mut claims = Vec::with_capacity(ids.len());
    for id in ids {
        let (token, first, payload): (i64, i64, String) = tx
            .prepare_cached(
                "UPDATE onboarding_webhook_queue SET state = 'leased', \
                 lease_token = lease_token + 1, next_attempt_at = ?2, \
                 first_attempt_at = COALESCE(first_attempt_at, ?3) \
                 WHERE id = ?1 RETURNING lease_token, first_attempt_at, payload",
            )?
            .query_row(params![id, lease_end, now], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        let entry = tx
            .prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM onboarding_webhook_queue WHERE id = ?1"
            ))?
            .query_row([id], row::onboarding_entry)?;
        claims.push(OnboardingClaim {
            entry,
            token,
            first_attempt_at: DateTime::from_timestamp_millis(first).unwrap_or(o.now),
            payload: serde_json::from_str(&payload)?,
        });
    }
    tx.commit()?;
    Ok(claims)
}

pub(crate) fn complete_delivery(c: &mut Connection, done: &Completion) -> Result<CompletionEffect> {
    finish(c, &ONBOARDING_QUEUE, done, Some(ENDPOINT))
}

fn breaker(c: &Connection) -> Result<BreakerState> {
    Ok(breaker_of(c, &ONBOARDING_QUEUE, ENDPOINT)?.unwrap_or_default())
}
