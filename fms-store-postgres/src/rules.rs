//! What the rule engine reads and keeps: rule sets, calendars, executor loads, round-robin
//! cursors.

use std::collections::BTreeMap;

use fms_core::ids::TenantId;
use fms_core::rules::{BusinessCalendar, Candidate, RuleSet};
use fms_core::store::IntakeContext;
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::row::{RosterRow, TenantRow, UserRow};
use async_trait::async_trait;
use fms_core::store::{RuleStore, StoreError};

use crate::PgStore;

#[derive(sqlx::FromRow)]
struct IntakeRow {
    tenant: Json<TenantRow>,
    complainant: Option<Json<UserRow>>,
    rules: Option<Json<RuleSet>>,
    calendar: Option<Json<BusinessCalendar>>,
    roster: Json<Vec<RosterRow>>,
    cursors: Json<BTreeMap<String, Uuid>>,
}

/// Everything an intake reads, in one statement (one snapshot, one round trip).
const INTAKE_CONTEXT: &str = "
SELECT to_jsonb(t) - 'calendar' AS tenant,
       (SELECT to_jsonb(u) FROM users u
        WHERE u.tenant_id = t.id AND u.telegram_chat_id = $2) AS complainant,
       (SELECT r.body FROM tenant_rule_sets r
        WHERE r.tenant_id = t.id ORDER BY r.version DESC LIMIT 1) AS rules,
       t.calendar,
       (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                   'user', to_jsonb(u),
                   'open', u.open_tickets)
               ORDER BY u.id), '[]'::jsonb)
        FROM users u WHERE u.tenant_id = t.id AND u.role = 'executor') AS roster,
       (SELECT COALESCE(jsonb_object_agg(c.pool, c.user_id), '{}'::jsonb)
        FROM round_robin_cursors c WHERE c.tenant_id = t.id) AS cursors
FROM tenants t WHERE t.id = $1";

pub(crate) async fn intake_context(
    pool: &PgPool,
    tenant: TenantId,
    chat_id: &str,
) -> Result<IntakeContext> {
    let row = sqlx::query_as::<_, IntakeRow>(INTAKE_CONTEXT)
        .bind(tenant.as_uuid())
        .bind(chat_id)
        .fetch_optional(pool)
        .await?
        .ok_or(Error::NotFound("tenant"))?;
    Ok(IntakeContext {
        tenant: row.tenant.0.into_domain()?,
        complainant: row.complainant.map(|u| u.0.into_domain()).transpose()?,
        rules: row.rules.map(|r| r.0),
        calendar: row.calendar.map(|c| c.0),
        roster: row
            .roster
            .0
            .into_iter()
            .map(|r| {
                Ok(Candidate {
                    user: r.user.into_domain()?,
                    open_tickets: u32::try_from(r.open).unwrap_or(u32::MAX),
                })
            })
            .collect::<Result<_>>()?,
        cursors: row
            .cursors
            .0
            .into_iter()
            .map(|(pool, user)| (pool, user.into()))
            .collect(),
    })
}

pub(crate) async fn save_rules(pool: &PgPool, tenant: TenantId, rules: &RuleSet) -> Result<()> {
    // The insert selects from the tenant, so a missing tenant is "nothing inserted".
    let inserted = sqlx::query(
        "INSERT INTO tenant_rule_sets (tenant_id, version, body) \
         SELECT id, $2, $3 FROM tenants WHERE id = $1",
    )
    .bind(tenant.as_uuid())
    .bind(i64::from(rules.version))
    .bind(Json(rules))
    .execute(pool)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(Error::NotFound("tenant"));
    }
    Ok(())
}

pub(crate) async fn rules(pool: &PgPool, tenant: TenantId) -> Result<Option<RuleSet>> {
    let body: Option<Json<RuleSet>> = sqlx::query_scalar(
        "SELECT body FROM tenant_rule_sets WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1",
    )
    .bind(tenant.as_uuid())
    .fetch_optional(pool)
    .await?;
    Ok(body.map(|b| b.0))
}

pub(crate) async fn save_calendar(
    pool: &PgPool,
    tenant: TenantId,
    calendar: Option<&BusinessCalendar>,
) -> Result<()> {
    let updated = sqlx::query("UPDATE tenants SET calendar = $2 WHERE id = $1")
        .bind(tenant.as_uuid())
        .bind(calendar.map(Json))
        .execute(pool)
        .await?;
    if updated.rows_affected() == 0 {
        return Err(Error::NotFound("tenant"));
    }
    Ok(())
}

pub(crate) async fn calendar(pool: &PgPool, tenant: TenantId) -> Result<Option<BusinessCalendar>> {
    let body: Option<Option<Json<BusinessCalendar>>> =
        sqlx::query_scalar("SELECT calendar FROM tenants WHERE id = $1")
            .bind(tenant.as_uuid())
            .fetch_optional(pool)
            .await?;
    Ok(body.ok_or(Error::NotFound("tenant"))?.map(|c| c.0))
}

#[async_trait]
impl RuleStore for PgStore {
    async fn intake_context(
        &self,
        tenant: TenantId,
        chat_id: &str,
    ) -> Result<IntakeContext, StoreError> {
        Ok(intake_context(&self.pool, tenant, chat_id).await?)
    }

    async fn save_rules(&self, tenant: TenantId, rules: &RuleSet) -> Result<(), StoreError> {
        Ok(save_rules(&self.pool, tenant, rules).await?)
    }

    async fn rules(&self, tenant: TenantId) -> Result<Option<RuleSet>, StoreError> {
        Ok(rules(&self.pool, tenant).await?)
    }

    async fn save_calendar(
        &self,
        tenant: TenantId,
        calendar: Option<&BusinessCalendar>,
    ) -> Result<(), StoreError> {
        Ok(save_calendar(&self.pool, tenant, calendar).await?)
    }

    async fn calendar(&self, tenant: TenantId) -> Result<Option<BusinessCalendar>, StoreError> {
        Ok(calendar(&self.pool, tenant).await?)
    }
}
