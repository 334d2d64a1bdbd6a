//! Users: complainants who report, executors who fix, admins who manage.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{TenantId, UserId};
use crate::ticket::UnknownName;

/// What a user does in a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reports issues (usually through the Telegram bot).
    Complainant,
    /// Is assigned tickets and fixes them.
    Executor,
    /// Manages the tenant.
    Admin,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Complainant => "complainant",
            Role::Executor => "executor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "complainant" => Ok(Role::Complainant),
            "executor" => Ok(Role::Executor),
            "admin" => Ok(Role::Admin),
            _ => Err(UnknownName {
                kind: "role",
                value: s.to_owned(),
                allowed: "complainant, executor, admin".to_owned(),
            }),
        }
    }
}

/// Where a user stands in Telegram onboarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnboardingStatus {
    /// Not invited.
    None,
    /// Invited; waiting for the user to press Start.
    Pending,
    /// The chat id is bound.
    Onboarded,
}

impl OnboardingStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OnboardingStatus::None => "none",
            OnboardingStatus::Pending => "pending",
            OnboardingStatus::Onboarded => "onboarded",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "pending" => Some(Self::Pending),
            "onboarded" => Some(Self::Onboarded),
            _ => None,
        }
    }
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Inactive users cannot report (403) and are never assigned.
    pub active: bool,
    /// Telegram chat id, unique within the tenant.
    pub telegram_chat_id: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Designation (job title).
    pub designation: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Categories an executor handles (`HVAC`, `IT`, ...); compared case-insensitively.
    pub skills: Vec<String>,
    /// Buildings an executor covers; empty means all.
    pub buildings: Vec<String>,
    /// Telegram onboarding status.
    pub onboarding: OnboardingStatus,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// What is needed to create a user. Built with [`NewUser::new`] and `with_*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Active (default true).
    pub active: bool,
    /// Telegram chat id.
    pub telegram_chat_id: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Designation.
    pub designation: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Skills (categories).
    pub skills: Vec<String>,
    /// Buildings covered.
    pub buildings: Vec<String>,
    /// Onboarding status; `Onboarded` when a chat id is given, `None` otherwise.
    pub onboarding: Option<OnboardingStatus>,
}

impl NewUser {
    /// An active user with no contact details.
    pub fn new(tenant_id: TenantId, name: impl Into<String>, role: Role) -> Self {
        Self {
            tenant_id,
            name: name.into(),
            role,
            active: true,
            telegram_chat_id: None,
            email: None,
            phone: None,
            designation: None,
            department: None,
            skills: Vec::new(),
            buildings: Vec::new(),
            onboarding: None,
        }
    }

    /// Sets the Telegram chat id.
    pub fn with_chat_id(mut self, chat_id: impl Into<String>) -> Self {
        self.telegram_chat_id = Some(chat_id.into());
        self
    }

    /// Sets the email.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets the phone.
    pub fn with_phone(mut self, phone: impl Into<String>) -> Self {
        self.phone = Some(phone.into());
        self
    }

    /// Sets the designation.
    pub fn with_designation(mut self, designation: impl Into<String>) -> Self {
        self.designation = Some(designation.into());
        self
    }

    /// Sets the department.
    pub fn with_department(mut self, department: impl Into<String>) -> Self {
        self.department = Some(department.into());
        self
    }

    /// Sets the skills (categories handled).
    pub fn with_skills<I, S>(mut self, skills: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.skills = skills.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the buildings covered.
    pub fn with_buildings<I, S>(mut self, buildings: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.buildings = buildings.into_iter().map(Into::into).collect();
        self
    }

    /// Sets whether the user is active.
    pub fn with_active(mut self, active: bool) -> Self {
        self.active = active;
        self
    }

    /// Sets the onboarding status explicitly.
    pub fn with_onboarding(mut self, status: OnboardingStatus) -> Self {
        self.onboarding = Some(status);
        self
    }
}

/// A change to a user; `None` fields are left as they are, `Some(None)` clears.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    /// New name.
    pub name: Option<String>,
    /// New active flag.
    pub active: Option<bool>,
    /// New chat id.
    pub telegram_chat_id: Option<Option<String>>,
    /// New email.
    pub email: Option<Option<String>>,
    /// New phone.
    pub phone: Option<Option<String>>,
    /// New designation.
    pub designation: Option<Option<String>>,
    /// New department.
    pub department: Option<Option<String>>,
    /// New skills.
    pub skills: Option<Vec<String>>,
    /// New buildings.
    pub buildings: Option<Vec<String>>,
    /// New onboarding status.
    pub onboarding: Option<OnboardingStatus>,
}
