//! Tenants and users.

use fms_core::ids::{TenantId, UserId};
use fms_core::tenant::{Tenant, TenantPatch};
use fms_core::user::{Role, User, UserPatch};
use sqlx::PgPool;
use sqlx::types::Json;

use crate::error::{Error, Result};
use crate::row::{TenantRow, UserRow, at};
use async_trait::async_trait;
use fms_core::store::{DirectoryStore, StoreError};

use crate::PgStore;

pub(crate) async fn create_tenant(pool: &PgPool, t: &Tenant) -> Result<()> {
    sqlx::query(
        "INSERT INTO tenants (id, name, automation_webhook_url, webhook_secret, timezone, \
         number_prefix, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(t.id.as_uuid())
    .bind(&t.name)
    .bind(&t.automation_webhook_url)
    .bind(&t.webhook_secret)
    .bind(t.timezone.name())
    .bind(&t.number_prefix)
    .bind(at(t.created_at))
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn tenant(pool: &PgPool, id: TenantId) -> Result<Tenant> {
    sqlx::query_as::<_, TenantRow>(
        "SELECT id, name, automation_webhook_url, webhook_secret, timezone, number_prefix, \
         created_at FROM tenants WHERE id = $1",
    )
    .bind(id.as_uuid())
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound("tenant"))?
    .into_domain()
}

/// One statement: `NULL` parameters leave a column alone (`$3` says whether the URL is set,
/// since `NULL` is also a valid URL value: none).
pub(crate) async fn update_tenant(pool: &PgPool, id: TenantId, p: &TenantPatch) -> Result<Tenant> {
    sqlx::query_as::<_, TenantRow>(
        "UPDATE tenants SET name = COALESCE($2, name), \
           automation_webhook_url = CASE WHEN $3 THEN $4 ELSE automation_webhook_url END, \
           webhook_secret = COALESCE($5, webhook_secret), \
           timezone = COALESCE($6, timezone) \
         WHERE id = $1 \
         RETURNING id, name, automation_webhook_url, webhook_secret, timezone, number_prefix, \
           created_at",
    )
    .bind(id.as_uuid())
    .bind(&p.name)
    .bind(p.automation_webhook_url.is_some())
    .bind(p.automation_webhook_url.clone().flatten())
    .bind(&p.webhook_secret)
    .bind(p.timezone.map(|tz| tz.name()))
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound("tenant"))?
    .into_domain()
}

/// A unique violation on insert or update of a user can only be the chat id (ids are fresh).
fn chat_id_conflict<T>(r: Result<T, sqlx::Error>) -> Result<T> {
    match r {
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Err(Error::Conflict(
            "telegram_chat_id is already used by another user of this tenant".into(),
        )),
        other => Ok(other?),
    }
}

pub(crate) async fn create_user(pool: &PgPool, u: &User) -> Result<()> {
    let mut conn = pool.acquire().await?;
    insert_user(&mut conn, u).await
}

pub(crate) async fn insert_user(conn: &mut sqlx::PgConnection, u: &User) -> Result<()> {
    chat_id_conflict(
        sqlx::query(
            "INSERT INTO users (id, tenant_id, name, role, active, telegram_chat_id, email, \
             phone, designation, department, skills, buildings, onboarding, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(u.id.as_uuid())
        .bind(u.tenant_id.as_uuid())
        .bind(&u.name)
        .bind(u.role.as_str())
        .bind(u.active)
        .bind(&u.telegram_chat_id)
        .bind(&u.email)
        .bind(&u.phone)
        .bind(&u.designation)
        .bind(&u.department)
        .bind(Json(&u.skills))
        .bind(Json(&u.buildings))
        .bind(u.onboarding.as_str())
        .bind(at(u.created_at))
        .execute(conn)
        .await,
    )?;
    Ok(())
}

pub(crate) async fn user(pool: &PgPool, id: UserId) -> Result<User> {
    sqlx::query_as::<_, UserRow>(
        "SELECT id, tenant_id, name, role, active, telegram_chat_id, email, phone, designation, \
         department, skills, buildings, onboarding, created_at FROM users WHERE id = $1",
    )
    .bind(id.as_uuid())
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound("user"))?
    .into_domain()
}

pub(crate) async fn user_by_chat_id(
    pool: &PgPool,
    tenant: TenantId,
    chat_id: &str,
) -> Result<Option<User>> {
    sqlx::query_as::<_, UserRow>(
        "SELECT id, tenant_id, name, role, active, telegram_chat_id, email, phone, designation, \
         department, skills, buildings, onboarding, created_at FROM users \
         WHERE tenant_id = $1 AND telegram_chat_id = $2",
    )
    .bind(tenant.as_uuid())
    .bind(chat_id)
    .fetch_optional(pool)
    .await?
    .map(UserRow::into_domain)
    .transpose()
}

/// One statement: for each optional field a "set" flag and the value (a flag, because
/// `Some(None)` clears a column).
pub(crate) async fn update_user(pool: &PgPool, id: UserId, p: &UserPatch) -> Result<User> {
    let row = chat_id_conflict(
        sqlx::query_as::<_, UserRow>(
            "UPDATE users SET name = COALESCE($2, name), active = COALESCE($3, active), \
               telegram_chat_id = CASE WHEN $4 THEN $5 ELSE telegram_chat_id END, \
               email = CASE WHEN $6 THEN $7 ELSE email END, \
               phone = CASE WHEN $8 THEN $9 ELSE phone END, \
               designation = CASE WHEN $10 THEN $11 ELSE designation END, \
               department = CASE WHEN $12 THEN $13 ELSE department END, \
               skills = COALESCE($14, skills), buildings = COALESCE($15, buildings), \
               onboarding = COALESCE($16, onboarding) \
             WHERE id = $1 \
             RETURNING id, tenant_id, name, role, active, telegram_chat_id, email, phone, \
               designation, department, skills, buildings, onboarding, created_at",
        )
        .bind(id.as_uuid())
        .bind(&p.name)
        .bind(p.active)
        .bind(p.telegram_chat_id.is_some())
        .bind(p.telegram_chat_id.clone().flatten())
        .bind(p.email.is_some())
        .bind(p.email.clone().flatten())
        .bind(p.phone.is_some())
        .bind(p.phone.clone().flatten())
        .bind(p.designation.is_some())
        .bind(p.designation.clone().flatten())
        .bind(p.department.is_some())
        .bind(p.department.clone().flatten())
        .bind(p.skills.as_ref().map(Json))
        .bind(p.buildings.as_ref().map(Json))
        .bind(p.onboarding.map(|o| o.as_str()))
        .fetch_optional(pool)
        .await,
    )?;
    row.ok_or(Error::NotFound("user"))?.into_domain()
}

pub(crate) async fn users(
    pool: &PgPool,
    tenant: TenantId,
    role: Option<Role>,
) -> Result<Vec<User>> {
    sqlx::query_as::<_, UserRow>(
        "SELECT id, tenant_id, name, role, active, telegram_chat_id, email, phone, designation, \
         department, skills, buildings, onboarding, created_at FROM users \
         WHERE tenant_id = $1 AND ($2::text IS NULL OR role = $2) ORDER BY created_at, id",
    )
    .bind(tenant.as_uuid())
    .bind(role.map(Role::as_str))
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(UserRow::into_domain)
    .collect()
}

pub(crate) async fn set_api_key_hash(pool: &PgPool, tenant: TenantId, hash: &str) -> Result<()> {
    let updated = sqlx::query("UPDATE tenants SET api_key_hash = $2 WHERE id = $1")
        .bind(tenant.as_uuid())
        .bind(hash)
        .execute(pool)
        .await?;
    if updated.rows_affected() == 0 {
        return Err(Error::NotFound("tenant"));
    }
    Ok(())
}

pub(crate) async fn tenant_by_api_key_hash(pool: &PgPool, hash: &str) -> Result<Option<TenantId>> {
    let id: Option<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM tenants WHERE api_key_hash = $1")
            .bind(hash)
            .fetch_optional(pool)
            .await?;
    Ok(id.map(Into::into))
}

#[async_trait]
impl DirectoryStore for PgStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        Ok(create_tenant(&self.pool, tenant).await?)
    }

    async fn tenant(&self, id: TenantId) -> Result<Tenant, StoreError> {
        Ok(tenant(&self.pool, id).await?)
    }

    async fn update_tenant(&self, id: TenantId, patch: &TenantPatch) -> Result<Tenant, StoreError> {
        Ok(update_tenant(&self.pool, id, patch).await?)
    }

    async fn set_api_key_hash(&self, tenant: TenantId, hash: &str) -> Result<(), StoreError> {
        Ok(set_api_key_hash(&self.pool, tenant, hash).await?)
    }

    async fn tenant_by_api_key_hash(&self, hash: &str) -> Result<Option<TenantId>, StoreError> {
        Ok(tenant_by_api_key_hash(&self.pool, hash).await?)
    }

    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        Ok(create_user(&self.pool, user).await?)
    }

    async fn user(&self, id: UserId) -> Result<User, StoreError> {
        Ok(user(&self.pool, id).await?)
    }

    async fn user_by_chat_id(
        &self,
        tenant: TenantId,
        chat_id: &str,
    ) -> Result<Option<User>, StoreError> {
        Ok(user_by_chat_id(&self.pool, tenant, chat_id).await?)
    }

    async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<User, StoreError> {
        Ok(update_user(&self.pool, id, patch).await?)
    }

    async fn users(&self, tenant: TenantId, role: Option<Role>) -> Result<Vec<User>, StoreError> {
        Ok(users(&self.pool, tenant, role).await?)
    }
}
