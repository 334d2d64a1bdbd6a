//! Who is calling: the operator (FMS_ADMIN_TOKEN) or one tenant (its API key). Keys are
//! compared by their SHA-256; the store holds only hashes.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use fms::ids::TenantId;
use sha2::{Digest, Sha256};

use super::Shared;
use super::error::ApiError;

/// The authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    /// The operator: creates tenants, runs the dispatcher, acts on any tenant.
    Operator,
    /// A tenant's API key: acts on that tenant alone.
    Tenant(TenantId),
}

impl Caller {
    /// Operator-only endpoints: 403 for a tenant key.
    pub(crate) fn require_operator(self) -> Result<(), ApiError> {
        match self {
            Caller::Operator => Ok(()),
            Caller::Tenant(_) => Err(ApiError::forbidden(
                "this endpoint needs the operator token",
            )),
        }
    }

    /// A request that names `tenant` (in its path or body): 403 for another tenant's key.
    pub(crate) fn may_act_on(self, tenant: TenantId) -> Result<(), ApiError> {
        match self {
            Caller::Tenant(own) if own != tenant => Err(ApiError::forbidden(
                "this API key belongs to another tenant",
            )),
            _ => Ok(()),
        }
    }

    /// A resource found by its own id (ticket, user, queue row) that belongs to `tenant`:
    /// another tenant's key sees nothing, as if it did not exist (404).
    pub(crate) fn sees(self, tenant: TenantId, what: &str) -> Result<(), ApiError> {
        match self {
            Caller::Tenant(own) if own != tenant => Err(ApiError::not_found(what)),
            _ => Ok(()),
        }
    }

    /// The tenant a tenant key acts for; `None` for the operator.
    pub(crate) fn tenant(self) -> Option<TenantId> {
        match self {
            Caller::Operator => None,
            Caller::Tenant(t) => Some(t),
        }
    }
}

/// The hex SHA-256 of a token, as stored.
pub(crate) fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh random token: `prefix` + 64 hex characters (two v4 UUIDs: 244 random bits from the
/// OS generator).
pub(crate) fn generate_token(prefix: &str) -> String {
    format!(
        "{prefix}{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::unauthorized("unknown bearer token"))?;
        let token = value
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthorized("expected `Authorization: Bearer <token>`"))?;
        let hash = hash_token(token);
        if hash == state.admin_token_hash {
            return Ok(Caller::Operator);
        }
        match state.fms.tenant_by_api_key_hash(&hash).await? {
            Some(tenant) => Ok(Caller::Tenant(tenant)),
            None => Err(ApiError::unauthorized("unknown bearer token")),
        }
    }
}
