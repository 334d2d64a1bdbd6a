//! Tenants and users.

use crate::error::{Error, Result};
use crate::ids::{TenantId, UserId};
use crate::intake::{CHAT_ID_MAX, SHORT_TEXT_MAX, check_text};
use crate::secret::{generate_webhook_secret, validate_secret_list};
use crate::tenant::{NewTenant, Tenant, TenantPatch};
use crate::user::{NewUser, OnboardingStatus, Role, User, UserPatch};

use super::Fms;

/// Longest webhook URL accepted.
pub const URL_MAX: usize = 2000;

impl Fms {
    /// Creates a tenant. A missing signing secret is generated.
    pub async fn create_tenant(&self, new: NewTenant) -> Result<Tenant> {
        let name = required("name", &new.name)?;
        if let Some(url) = &new.automation_webhook_url {
            check_url(url)?;
        }
        let prefix = new.number_prefix.trim();
        if prefix.is_empty()
            || prefix.len() > 16
            || !prefix.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(Error::invalid(
                "number_prefix",
                "must be 1 to 16 ASCII letters or digits",
            ));
        }
        let webhook_secret = match new.webhook_secret {
            Some(s) => {
                validate_secret_list(&s).map_err(|r| Error::invalid("webhook_secret", r))?;
                s
            }
            None => generate_webhook_secret(),
        };
        let tenant = Tenant {
            id: TenantId::new(),
            name,
            automation_webhook_url: new.automation_webhook_url,
            webhook_secret,
            timezone: new.timezone,
            number_prefix: prefix.to_owned(),
            created_at: self.clock.now(),
        };
        self.store.create_tenant(&tenant).await?;
        Ok(tenant)
    }

    /// Loads a tenant.
    pub async fn tenant(&self, id: TenantId) -> Result<Tenant> {
        Ok(self.store.tenant(id).await?)
    }

    /// Changes a tenant's settings.
    pub async fn update_tenant(&self, id: TenantId, patch: TenantPatch) -> Result<Tenant> {
        let mut patch = patch;
        if let Some(name) = &patch.name {
            patch.name = Some(required("name", name)?);
        }
        if let Some(Some(url)) = &patch.automation_webhook_url {
            check_url(url)?;
        }
        if let Some(secret) = &patch.webhook_secret {
            validate_secret_list(secret).map_err(|r| Error::invalid("webhook_secret", r))?;
        }
        let url_changed = patch.automation_webhook_url.is_some();
        let tenant = self.store.update_tenant(id, &patch).await?;
        if url_changed {
            // A new URL is a new endpoint: forget the old one's failures and 410.
            self.reset_endpoint(id).await?;
        }
        Ok(tenant)
    }

    /// Creates a user. A chat id already used in the tenant is a conflict.
    pub async fn create_user(&self, new: NewUser) -> Result<User> {
        self.store.tenant(new.tenant_id).await?;
        let name = required("name", &new.name)?;
        let chat_id = optional("telegram_chat_id", new.telegram_chat_id, CHAT_ID_MAX)?;
        let onboarding = new.onboarding.unwrap_or(if chat_id.is_some() {
            OnboardingStatus::Onboarded
        } else {
            OnboardingStatus::None
        });
        let user = User {
            id: UserId::new(),
            tenant_id: new.tenant_id,
            name,
            role: new.role,
            active: new.active,
            telegram_chat_id: chat_id,
            email: optional("email", new.email, SHORT_TEXT_MAX)?,
            phone: optional("phone", new.phone, SHORT_TEXT_MAX)?,
            designation: optional("designation", new.designation, SHORT_TEXT_MAX)?,
            department: optional("department", new.department, SHORT_TEXT_MAX)?,
            skills: list("skills", new.skills)?,
            buildings: list("buildings", new.buildings)?,
            onboarding,
            created_at: self.clock.now(),
        };
        self.store.create_user(&user).await?;
        Ok(user)
    }

    /// Loads a user.
    pub async fn user(&self, id: UserId) -> Result<User> {
        Ok(self.store.user(id).await?)
    }

    /// A tenant's users, optionally of one role.
    pub async fn users(&self, tenant: TenantId, role: Option<Role>) -> Result<Vec<User>> {
        Ok(self.store.users(tenant, role).await?)
    }

    /// Changes a user.
    pub async fn update_user(&self, id: UserId, patch: UserPatch) -> Result<User> {
        let mut p = patch;
        if let Some(name) = &p.name {
            p.name = Some(required("name", name)?);
        }
        fn opt(
            field: &str,
            v: Option<Option<String>>,
            max: usize,
        ) -> Result<Option<Option<String>>> {
            v.map(|inner| optional(field, inner, max)).transpose()
        }
        p.telegram_chat_id = opt("telegram_chat_id", p.telegram_chat_id, CHAT_ID_MAX)?;
        p.email = opt("email", p.email, SHORT_TEXT_MAX)?;
        p.phone = opt("phone", p.phone, SHORT_TEXT_MAX)?;
        p.designation = opt("designation", p.designation, SHORT_TEXT_MAX)?;
        p.department = opt("department", p.department, SHORT_TEXT_MAX)?;
        p.skills = p.skills.map(|s| list("skills", s)).transpose()?;
        p.buildings = p.buildings.map(|b| list("buildings", b)).transpose()?;
        Ok(self.store.update_user(id, &p).await?)
    }
}

/// A non-blank text, trimmed.
pub(crate) fn required(field: &str, value: &str) -> Result<String> {
    let t = value.trim();
    if t.is_empty() {
        return Err(Error::MissingField {
            field: field.to_owned(),
        });
    }
    check_text(field, t, SHORT_TEXT_MAX)?;
    Ok(t.to_owned())
}

/// An optional text, trimmed; blank becomes `None`.
fn optional(field: &str, value: Option<String>, max: usize) -> Result<Option<String>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => {
            check_text(field, t, max)?;
            Ok(Some(t.to_owned()))
        }
    }
}

/// A list of short texts: trimmed, blanks dropped, at most 100 entries.
fn list(field: &str, values: Vec<String>) -> Result<Vec<String>> {
    if values.len() > 100 {
        return Err(Error::invalid(field, "at most 100 entries"));
    }
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        if let Some(t) = optional(field, Some(v), SHORT_TEXT_MAX)? {
            out.push(t);
        }
    }
    Ok(out)
}

/// The shape check of a webhook URL done here; the SSRF policy (https only, no private
/// targets) is the sender's, see `fms-http`.
fn check_url(url: &str) -> Result<()> {
    let field = "automation_webhook_url";
    check_text(field, url, URL_MAX)?;
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !url.contains(char::is_whitespace) => {
            Ok(())
        }
        _ => Err(Error::invalid(field, "must be an absolute http(s) URL")),
    }
}

impl Fms {
    /// Records the hash of a tenant's API key (the caller hashes; fms never sees the key
    /// stored). Replaces any earlier key.
    pub async fn set_api_key_hash(&self, tenant: TenantId, hash: &str) -> Result<()> {
        Ok(self.store.set_api_key_hash(tenant, hash).await?)
    }

    /// The tenant whose API key hashes to `hash`.
    pub async fn tenant_by_api_key_hash(&self, hash: &str) -> Result<Option<TenantId>> {
        Ok(self.store.tenant_by_api_key_hash(hash).await?)
    }
}
