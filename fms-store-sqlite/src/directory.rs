//! Tenants and users.

use fms_core::ids::{TenantId, UserId};
use fms_core::tenant::{Tenant, TenantPatch};
use fms_core::user::{Role, User, UserPatch};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Error, Result};
use crate::row::{self, TENANT_COLUMNS, USER_COLUMNS, ms};
use async_trait::async_trait;
use fms_core::store::{DirectoryStore, StoreError};

use crate::SqliteStore;

pub(crate) fn create_tenant(c: &mut Connection, t: &Tenant) -> Result<()> {
    c.execute(
        "INSERT INTO tenants (id, name, automation_webhook_url, webhook_secret, timezone, \
         number_prefix, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            t.id.to_string(),
            t.name,
            t.automation_webhook_url,
            t.webhook_secret,
            t.timezone.name(),
            t.number_prefix,
            ms(t.created_at)
        ],
    )?;
    Ok(())
}

pub(crate) fn tenant(c: &Connection, id: TenantId) -> Result<Tenant> {
    c.prepare_cached(&format!(
        "SELECT {TENANT_COLUMNS} FROM tenants WHERE id = ?1"
    ))?
    .query_row([id.to_string()], row::tenant)
    .optional()?
    .ok_or(Error::NotFound("tenant"))
}

pub(crate) fn update_tenant(c: &mut Connection, id: TenantId, p: &TenantPatch) -> Result<Tenant> {
    let tx = c.savepoint()?;
    let mut t = tenant(&tx, id)?;
    if let Some(name) = &p.name {
        t.name = name.clone();
    }
    if let Some(url) = &p.automation_webhook_url {
        t.automation_webhook_url = url.clone();
    }
    if let Some(secret) = &p.webhook_secret {
        t.webhook_secret = secret.clone();
    }
    if let Some(tz) = p.timezone {
        t.timezone = tz;
    }
    tx.execute(
        "UPDATE tenants SET name = ?2, automation_webhook_url = ?3, webhook_secret = ?4, \
         timezone = ?5 WHERE id = ?1",
        params![
            id.to_string(),
            t.name,
            t.automation_webhook_url,
            t.webhook_secret,
            t.timezone.name()
        ],
    )?;
    tx.commit()?;
    Ok(t)
}

fn json_list(v: &[String]) -> Result<String> {
    Ok(serde_json::to_string(v)?)
}

pub(crate) fn create_user(c: &Connection, u: &User) -> Result<()> {
    let result = c.execute(
        "INSERT INTO users (id, tenant_id, name, role, active, telegram_chat_id, email, phone, \
         designation, department, skills, buildings, onboarding, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            u.id.to_string(),
            u.tenant_id.to_string(),
            u.name,
            u.role.as_str(),
            u.active,
            u.telegram_chat_id,
            u.email,
            u.phone,
            u.designation,
            u.department,
            json_list(&u.skills)?,
            json_list(&u.buildings)?,
            u.onboarding.as_str(),
            ms(u.created_at)
        ],
    );
    chat_id_conflict(result)?;
    Ok(())
}

/// A unique violation on insert or update of a user can only be the chat id (ids are fresh).
fn chat_id_conflict<T>(r: rusqlite::Result<T>) -> Result<T> {
    match r {
        Err(rusqlite::Error::SqliteFailure(f, _))
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            Err(Error::Conflict(
                "telegram_chat_id is already used by another user of this tenant".into(),
            ))
        }
        other => Ok(other?),
    }
}

pub(crate) fn user(c: &Connection, id: UserId) -> Result<User> {
    c.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))?
        .query_row([id.to_string()], row::user)
        .optional()?
        .ok_or(Error::NotFound("user"))
}

pub(crate) fn user_by_chat_id(
    c: &Connection,
    tenant: TenantId,
    chat_id: &str,
) -> Result<Option<User>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = ?1 AND telegram_chat_id = ?2"
    ))?
    .query_row(params![tenant.to_string(), chat_id], row::user)
    .optional()?)
}

pub(crate) fn update_user(c: &mut Connection, id: UserId, p: &UserPatch) -> Result<User> {
    let tx = c.savepoint()?;
    let mut u = user(&tx, id)?;
    if let Some(v) = &p.name {
        u.name = v.clone();
    }
    if let Some(v) = p.active {
        u.active = v;
    }
    if let Some(v) = &p.telegram_chat_id {
        u.telegram_chat_id = v.clone();
    }
    if let Some(v) = &p.email {
        u.email = v.clone();
    }
    if let Some(v) = &p.phone {
        u.phone = v.clone();
    }
    if let Some(v) = &p.designation {
        u.designation = v.clone();
    }
    if let Some(v) = &p.department {
        u.department = v.clone();
    }
    if let Some(v) = &p.skills {
        u.skills = v.clone();
    }
    if let Some(v) = &p.buildings {
        u.buildings = v.clone();
    }
    if let Some(v) = p.onboarding {
        u.onboarding = v;
    }
    chat_id_conflict(tx.execute(
        "UPDATE users SET name = ?2, active = ?3, telegram_chat_id = ?4, email = ?5, phone = ?6, \
         designation = ?7, department = ?8, skills = ?9, buildings = ?10, onboarding = ?11 \
         WHERE id = ?1",
        params![
            id.to_string(),
            u.name,
            u.active,
            u.telegram_chat_id,
            u.email,
            u.phone,
            u.designation,
            u.department,
            json_list(&u.skills)?,
            json_list(&u.buildings)?,
            u.onboarding.as_str()
        ],
    ))?;
    tx.commit()?;
    Ok(u)
}

pub(crate) fn users(c: &Connection, tenant: TenantId, role: Option<Role>) -> Result<Vec<User>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = ?1 AND (?2 IS NULL OR role = ?2) \
         ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map(
        params![tenant.to_string(), role.map(Role::as_str)],
        row::user,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn set_api_key_hash(c: &mut Connection, t: TenantId, hash: &str) -> Result<()> {
    let n = c
        .prepare_cached("UPDATE tenants SET api_key_hash = ?2 WHERE id = ?1")?
        .execute(params![t.to_string(), hash])?;
    if n == 0 {
        return Err(Error::NotFound("tenant"));
    }
    Ok(())
}

pub(crate) fn tenant_by_api_key_hash(c: &mut Connection, hash: &str) -> Result<Option<TenantId>> {
    let id: Option<String> = c
        .prepare_cached("SELECT id FROM tenants WHERE api_key_hash = ?1")?
        .query_row([hash], |r| r.get(0))
        .optional()?;
    id.map(|id| {
        id.parse::<TenantId>()
            .map_err(|_| Error::Conflict("corrupt tenant id".into()))
    })
    .transpose()
}

#[async_trait]
impl DirectoryStore for SqliteStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let tenant = tenant.clone();
        self.call(move |c| create_tenant(c, &tenant)).await
    }

    async fn tenant(&self, id: TenantId) -> Result<Tenant, StoreError> {
        self.call(move |c| tenant(c, id)).await
    }

    async fn update_tenant(&self, id: TenantId, patch: &TenantPatch) -> Result<Tenant, StoreError> {
        let patch = patch.clone();
        self.call(move |c| update_tenant(c, id, &patch)).await
    }

    async fn set_api_key_hash(&self, tenant: TenantId, hash: &str) -> Result<(), StoreError> {
        let hash = hash.to_owned();
        self.call(move |c| set_api_key_hash(c, tenant, &hash)).await
    }

    async fn tenant_by_api_key_hash(&self, hash: &str) -> Result<Option<TenantId>, StoreError> {
        let hash = hash.to_owned();
        self.call(move |c| tenant_by_api_key_hash(c, &hash)).await
    }

    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let user = user.clone();
        self.call(move |c| create_user(c, &user)).await
    }

    async fn user(&self, id: UserId) -> Result<User, StoreError> {
        self.call(move |c| user(c, id)).await
    }

    async fn user_by_chat_id(
        &self,
        tenant: TenantId,
        chat_id: &str,
    ) -> Result<Option<User>, StoreError> {
        let chat_id = chat_id.to_owned();
        self.call(move |c| user_by_chat_id(c, tenant, &chat_id))
            .await
    }

    async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<User, StoreError> {
        let patch = patch.clone();
        self.call(move |c| update_user(c, id, &patch)).await
    }

    async fn users(&self, tenant: TenantId, role: Option<Role>) -> Result<Vec<User>, StoreError> {
        self.call(move |c| users(c, tenant, role)).await
    }
}
