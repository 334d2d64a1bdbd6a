//! Shared set-up: a tenant with a complainant and an executor.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::Fms;
use crate::ids::TicketId;
use crate::queue::{QueueEntry, QueueQuery};
use crate::tenant::{NewTenant, Tenant};
use crate::ticket::Ticket;
use crate::user::{NewUser, Role, User};

use super::Subject;

/// The spec's example intake body for `tenant` and `chat_id`.
pub fn spec_body(tenant: &Tenant, chat_id: &str) -> Value {
    json!({
        "issue": "AC not working in Building A",
        "location": "Building A, Floor 3",
        "category": "HVAC",
        "priority": "high",
        "name": "John Doe",
        "designation": "Manager",
        "department": "IT",
        "chat_id": chat_id,
        "tenant_id": tenant.id.to_string(),
        "type": "Maintenance",
        "building": "Building A",
        "floor": "3",
        "room": "301"
    })
}

/// A tenant with one complainant (chat `123456789`) and one executor (skill `Electrical`, so
/// the default allocation leaves the fixture's HVAC tickets unassigned).
pub struct Fixture {
    pub fms: Fms,
    pub tenant: Tenant,
    pub complainant: User,
    pub executor: User,
}

impl Fixture {
    pub async fn new(subject: &Subject) -> Self {
        Self::named(subject, "ACME Facilities").await
    }

    pub async fn named(subject: &Subject, name: &str) -> Self {
        let fms = Fms::new(Arc::clone(&subject.store));
        let tenant = fms.create_tenant(NewTenant::new(name)).await.unwrap();
        let complainant = fms
            .create_user(
                NewUser::new(tenant.id, "John Doe", Role::Complainant)
                    .with_chat_id("123456789")
                    .with_email("john.doe@example.com")
                    .with_phone("+1-555-0100"),
            )
            .await
            .unwrap();
        let executor = fms
            .create_user(
                NewUser::new(tenant.id, "Mike Johnson", Role::Executor)
                    .with_chat_id("555")
                    .with_skills(["Electrical"]),
            )
            .await
            .unwrap();
        Self {
            fms,
            tenant,
            complainant,
            executor,
        }
    }

    pub fn body(&self) -> Value {
        spec_body(&self.tenant, "123456789")
    }

    pub async fn ingest(&self) -> Ticket {
        self.fms.ingest(&self.body(), None).await.unwrap().ticket
    }

    pub async fn queue(&self, ticket: TicketId) -> Vec<QueueEntry> {
        self.fms
            .queue_entries(&QueueQuery::ticket(ticket))
            .await
            .unwrap()
    }
}
