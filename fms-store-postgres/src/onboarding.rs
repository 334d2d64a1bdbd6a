//! Onboarding invitations and their webhook queue (low volume: plain short transactions; the
//! endpoint's breaker row is locked `FOR UPDATE` where it is read to be changed).

use chrono::{DateTime, Utc};
use fms_core::delivery::{Admission, BreakerState};
use fms_core::ids::{QueueEntryId, TenantId};
use fms_core::onboarding::Invitation;
use fms_core::queue::{ClaimOptions, Completion, CompletionEffect};
use fms_core::store::{CompleteInvitation, NewInvitation, OnboardingClaim, OnboardingEntry};
use fms_core::user::{OnboardingStatus, User};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::notifications::notes_json;
use crate::row::{BreakerRow, UserRow, at, resolution_columns};

const ENDPOINT: &str = "onboarding";

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

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: i64,
    tenant_id: Uuid,
    correlation_id: String,
    state: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
}

impl EntryRow {
    fn into_domain(self) -> Result<OnboardingEntry> {
        Ok(OnboardingEntry {
            id: QueueEntryId(self.id),
            tenant_id: self.tenant_id.into(),
            correlation_id: self.correlation_id,
            state: self
                .state
                .parse()
                .map_err(|e| Error::Corrupt(format!("queue state: {e}")))?,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            next_attempt_at: self.next_attempt_at,
            last_status_code: self.last_status_code.and_then(|c| u16::try_from(c).ok()),
            last_error: self.last_error,
            created_at: self.created_at,
        })
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

pub(crate) async fn entries(
    pool: &PgPool,
    tenant: TenantId,
    limit: u32,
) -> Result<Vec<OnboardingEntry>> {
    sqlx::query_as::<_, EntryRow>(
        "SELECT * FROM onboarding_webhook_queue WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(tenant.as_uuid())
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(EntryRow::into_domain)
    .collect()
}

async fn lock_breaker(conn: &mut PgConnection) -> Result<BreakerState> {
    Ok(sqlx::query_as::<_, BreakerRow>(
        "SELECT endpoint_failures, endpoint_paused_until, endpoint_probe_until, \
         endpoint_disabled_at FROM webhook_endpoints WHERE name = $1 FOR UPDATE",
    )
    .bind(ENDPOINT)
    .fetch_optional(conn)
    .await?
    .map(BreakerRow::into_domain)
    .unwrap_or_default())
}

async fn save_breaker(conn: &mut PgConnection, s: &BreakerState) -> Result<()> {
    sqlx::query(
        "UPDATE webhook_endpoints SET endpoint_failures = $2, endpoint_paused_until = $3, \
         endpoint_probe_until = $4, endpoint_disabled_at = $5 WHERE name = $1",
    )
    .bind(ENDPOINT)
    .bind(i32::try_from(s.consecutive_failures).unwrap_or(i32::MAX))
    .bind(s.paused_until.map(at))
    .bind(s.probe_until.map(at))
    .bind(s.disabled_at.map(at))
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    #[sqlx(flatten)]
    entry: EntryRow,
    lease_token: i64,
    first_attempt_at: Option<DateTime<Utc>>,
    payload: Json<serde_json::Value>,
}

pub(crate) async fn claim(pool: &PgPool, o: &ClaimOptions) -> Result<Vec<OnboardingClaim>> {
    let now = at(o.now);
    let lease_end = at(o.now + o.lease);
    let mut tx = pool.begin().await?;
    let mut breaker = lock_breaker(&mut tx).await?;
    let admission = breaker.admission(o.now);
    let limit = match admission {
        Admission::Send => o.limit,
        Admission::Probe => 1.min(o.limit),
        _ => 0,
    };
    if limit == 0 {
        return Ok(Vec::new());
    }
    let rows = sqlx::query_as::<_, ClaimedRow>(
        "UPDATE onboarding_webhook_queue q SET state = 'leased', \
           lease_token = q.lease_token + 1, next_attempt_at = $2, \
           first_attempt_at = COALESCE(q.first_attempt_at, $1) \
         WHERE q.id IN (SELECT id FROM onboarding_webhook_queue \
                        WHERE state IN ('pending', 'leased') AND next_attempt_at <= $1 \
                        ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
         RETURNING q.*",
    )
    .bind(now)
    .bind(lease_end)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await?;
    if admission == Admission::Probe && !rows.is_empty() {
        // The probe slot is taken only by a row that is actually sent.
        breaker.probe_until = Some(lease_end);
        save_breaker(&mut tx, &breaker).await?;
    }
    tx.commit().await?;
    let mut claims: Vec<OnboardingClaim> = rows
        .into_iter()
        .map(|r| {
            Ok(OnboardingClaim {
                token: r.lease_token,
                first_attempt_at: r.first_attempt_at.unwrap_or(now),
                payload: r.payload.0,
                entry: r.entry.into_domain()?,
            })
        })
        .collect::<Result<_>>()?;
    claims.sort_by_key(|c| (c.entry.next_attempt_at, c.entry.id));
    Ok(claims)
}

pub(crate) async fn complete_delivery(
    pool: &PgPool,
    done: &Completion,
) -> Result<CompletionEffect> {
    let (state, next, finished) = resolution_columns(done);
    let mut tx = pool.begin().await?;
    let n = sqlx::query(
        "UPDATE onboarding_webhook_queue SET state = $3, \
           attempts = attempts + CASE WHEN $4 THEN 1 ELSE 0 END, \
           next_attempt_at = COALESCE($5, next_attempt_at), \
           last_status_code = CASE WHEN $4 THEN $6 ELSE last_status_code END, \
           last_error = CASE WHEN $4 OR $7::text IS NOT NULL THEN $7 ELSE last_error END, \
           finished_at = $8 \
         WHERE id = $1 AND lease_token = $2 AND state = 'leased'",
    )
    .bind(done.entry.0)
    .bind(done.token)
    .bind(state)
    .bind(done.attempted)
    .bind(next)
    .bind(done.status_code.map(i32::from))
    .bind(done.error.as_deref())
    .bind(finished)
    .execute(&mut *tx)
    .await?;
    if n.rows_affected() == 0 {
        return Err(Error::Conflict(
            "the lease was lost: another dispatcher holds or finished this row".into(),
        ));
    }
    let mut effect = CompletionEffect::default();
    if let Some(update) = &done.breaker {
        let mut state = lock_breaker(&mut tx).await?;
        let before = state.clone();
        effect.endpoint_disabled = update.apply(&mut state, done.now);
        if state != before {
            save_breaker(&mut tx, &state).await?;
        }
    }
    tx.commit().await?;
    Ok(effect)
}
