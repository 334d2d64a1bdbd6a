//! What the rule engine reads and keeps: rule sets, calendars, executor loads, round-robin
//! cursors.

use std::collections::BTreeMap;

use fms_core::ids::{TenantId, UserId};
use fms_core::rules::CursorUpdate;
use fms_core::rules::{BusinessCalendar, Candidate, RuleSet};
use fms_core::store::IntakeContext;
use rusqlite::{Connection, OptionalExtension, params};

use crate::directory::{tenant, user_by_chat_id};
use crate::error::{Error, Result};
use crate::row::{self, USER_COLUMNS};
use async_trait::async_trait;
use fms_core::store::{RuleStore, StoreError};

use crate::SqliteStore;

pub(crate) fn intake_context(
    c: &mut Connection,
    t: TenantId,
    chat_id: &str,
) -> Result<IntakeContext> {
    // One read transaction, so the pieces are consistent with each other.
    let tx = c.savepoint()?;
    let tenant = tenant(&tx, t)?;
    let id = t.to_string();
    let context = IntakeContext {
        complainant: user_by_chat_id(&tx, t, chat_id)?,
        rules: rules(&tx, t)?,
        calendar: calendar(&tx, t)?,
        roster: roster(&tx, &id)?,
        cursors: cursors(&tx, &id)?,
        tenant,
    };
    tx.commit()?;
    Ok(context)
}

fn roster(c: &Connection, tenant: &str) -> Result<Vec<Candidate>> {
    let columns = USER_COLUMNS
        .split(", ")
        .map(|col| format!("u.{col}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {columns}, u.open_tickets \
         FROM users u WHERE u.tenant_id = ?1 AND u.role = 'executor' ORDER BY u.id"
    ))?;
    let rows = stmt.query_map([tenant], |r| {
        let open: i64 = r.get(14)?;
        Ok(Candidate {
            user: row::user(r)?,
            open_tickets: u32::try_from(open).unwrap_or(u32::MAX),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn cursors(c: &Connection, tenant: &str) -> Result<BTreeMap<String, UserId>> {
    let mut stmt =
        c.prepare_cached("SELECT pool, user_id FROM round_robin_cursors WHERE tenant_id = ?1")?;
    let rows = stmt.query_map([tenant], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (pool, user) = row?;
        let user = user
            .parse::<UserId>()
            .map_err(|_| Error::Conflict(format!("corrupt cursor of pool {pool:?}")))?;
        out.insert(pool, user);
    }
    Ok(out)
}

/// Moves a pool's cursor from `previous` to `next`, or fails with `Conflict` if another
/// intake moved it first.
pub(crate) fn move_cursor(tx: &Connection, tenant: &str, cursor: &CursorUpdate) -> Result<()> {
    let current: Option<String> = tx
        .prepare_cached(
            "SELECT user_id FROM round_robin_cursors WHERE tenant_id = ?1 AND pool = ?2",
        )?
        .query_row(params![tenant, cursor.pool], |r| r.get(0))
        .optional()?;
    if current != cursor.previous.map(|p| p.to_string()) {
        return Err(Error::Conflict(format!(
            "the round-robin cursor of pool {:?} moved",
            cursor.pool
        )));
    }
    tx.prepare_cached(
        "INSERT INTO round_robin_cursors (tenant_id, pool, user_id) VALUES (?1, ?2, ?3) \
         ON CONFLICT (tenant_id, pool) DO UPDATE SET user_id = excluded.user_id",
    )?
    .execute(params![tenant, cursor.pool, cursor.next.to_string()])?;
    Ok(())
}

pub(crate) fn save_rules(c: &mut Connection, t: TenantId, rules: &RuleSet) -> Result<()> {
    let tx = c.savepoint()?;
    tenant(&tx, t)?;
    tx.prepare_cached(
        "INSERT INTO tenant_rule_sets (tenant_id, version, body) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![
        t.to_string(),
        rules.version,
        serde_json::to_string(rules)?
    ])?;
    tx.commit()?;
    Ok(())
}

pub(crate) fn rules(c: &Connection, t: TenantId) -> Result<Option<RuleSet>> {
    let body: Option<String> = c
        .prepare_cached(
            "SELECT body FROM tenant_rule_sets WHERE tenant_id = ?1 ORDER BY version DESC LIMIT 1",
        )?
        .query_row([t.to_string()], |r| r.get(0))
        .optional()?;
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}

pub(crate) fn save_calendar(
    c: &mut Connection,
    t: TenantId,
    calendar: Option<&BusinessCalendar>,
) -> Result<()> {
    let body = calendar.map(serde_json::to_string).transpose()?;
    let n = c
        .prepare_cached("UPDATE tenants SET calendar = ?2 WHERE id = ?1")?
        .execute(params![t.to_string(), body])?;
    if n == 0 {
        return Err(Error::NotFound("tenant"));
    }
    Ok(())
}

pub(crate) fn calendar(c: &Connection, t: TenantId) -> Result<Option<BusinessCalendar>> {
    let body: Option<Option<String>> = c
        .prepare_cached("SELECT calendar FROM tenants WHERE id = ?1")?
        .query_row([t.to_string()], |r| r.get(0))
        .optional()?;
    let body = body.ok_or(Error::NotFound("tenant"))?;
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}

#[async_trait]
impl RuleStore for SqliteStore {
    async fn intake_context(
        &self,
        tenant: TenantId,
        chat_id: &str,
    ) -> Result<IntakeContext, StoreError> {
        let chat_id = chat_id.to_owned();
        self.call(move |c| intake_context(c, tenant, &chat_id))
            .await
    }

    async fn save_rules(&self, tenant: TenantId, rules: &RuleSet) -> Result<(), StoreError> {
        let rules = rules.clone();
        self.call(move |c| save_rules(c, tenant, &rules)).await
    }

    async fn rules(&self, tenant: TenantId) -> Result<Option<RuleSet>, StoreError> {
        self.call(move |c| rules(c, tenant)).await
    }

    async fn save_calendar(
        &self,
        tenant: TenantId,
        calendar: Option<&BusinessCalendar>,
    ) -> Result<(), StoreError> {
        let calendar = calendar.cloned();
        self.call(move |c| save_calendar(c, tenant, calendar.as_ref()))
            .await
    }

    async fn calendar(&self, tenant: TenantId) -> Result<Option<BusinessCalendar>, StoreError> {
        self.call(move |c| calendar(c, tenant)).await
    }
}
