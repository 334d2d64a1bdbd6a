//! Tenants, their API keys, and users.

use async_trait::async_trait;

use crate::ids::{TenantId, UserId};
use crate::tenant::{Tenant, TenantPatch};
use crate::user::{Role, User, UserPatch};

use super::StoreError;

/// Tenants, their API keys and their users.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// Inserts a tenant. `Conflict` if the id exists.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// Loads a tenant.
    async fn tenant(&self, id: TenantId) -> Result<Tenant, StoreError>;
    /// Changes a tenant's settings and returns the result.
    async fn update_tenant(&self, id: TenantId, patch: &TenantPatch) -> Result<Tenant, StoreError>;
    /// Sets the hash of the tenant's API key (the key itself is never stored), replacing any
    /// earlier one.
    async fn set_api_key_hash(&self, tenant: TenantId, hash: &str) -> Result<(), StoreError>;
    /// The tenant whose API key has this hash, if any.
    async fn tenant_by_api_key_hash(&self, hash: &str) -> Result<Option<TenantId>, StoreError>;

    /// Inserts a user. `Conflict` if the chat id is already used in the tenant.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;
    /// Loads a user.
    async fn user(&self, id: UserId) -> Result<User, StoreError>;
    /// The user of `tenant` with this Telegram chat id, if any.
    async fn user_by_chat_id(
        &self,
        tenant: TenantId,
        chat_id: &str,
    ) -> Result<Option<User>, StoreError>;
    /// Changes a user and returns the result. `Conflict` on a duplicate chat id.
    async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<User, StoreError>;
    /// A tenant's users, optionally of one role, oldest first.
    async fn users(&self, tenant: TenantId, role: Option<Role>) -> Result<Vec<User>, StoreError>;
}
