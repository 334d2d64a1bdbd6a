//! Quickstart: fms in-process on an in-memory SQLite database.
//!
//! A tenant, a complainant and an executor; the spec's example intake; then the ticket
//! number and the webhook payload queued for the tenant's automation URL.
//!
//! Run with `cargo run --example quickstart`.

use std::error::Error;
use std::sync::Arc;

use fms::Fms;
use fms::queue::QueueQuery;
use fms::sqlite::SqliteStore;
use fms::tenant::NewTenant;
use fms::user::{NewUser, Role};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let fms = Fms::new(Arc::new(SqliteStore::in_memory()?));

    let tenant = fms
        .create_tenant(
            NewTenant::new("ACME Facilities").with_webhook_url("https://hook.integromat.com/xxxxx"),
        )
        .await?;
    fms.create_user(
        NewUser::new(tenant.id, "John Doe", Role::Complainant)
            .with_chat_id("123456789")
            .with_email("john.doe@example.com")
            .with_phone("+1-555-0100")
            .with_designation("Manager")
            .with_department("IT"),
    )
    .await?;
    fms.create_user(
        NewUser::new(tenant.id, "Mike Johnson", Role::Executor)
            .with_chat_id("987654321")
            .with_skills(["HVAC"])
            .with_buildings(["Building A"]),
    )
    .await?;

    // The spec's example intake, exactly as a Make scenario posts it.
    let body = serde_json::json!({
        "issue": "AC not working in Building A",
        "location": "Building A, Floor 3",
        "category": "HVAC",
        "priority": "high",
        "name": "John Doe",
        "designation": "Manager",
        "department": "IT",
        "chat_id": "123456789",
        "tenant_id": tenant.id.to_string(),
        "type": "Maintenance",
        "building": "Building A",
        "floor": "3",
        "room": "301"
    });
    let ingested = fms.ingest(&body, None).await?;
    let ticket = ingested.ticket;
    println!(
        "ticket {} created: status {}, priority {}",
        ticket.number, ticket.status, ticket.priority
    );

    for entry in fms.queue_entries(&QueueQuery::ticket(ticket.id)).await? {
        let payload = fms.payload(entry.id).await?;
        println!(
            "queued webhook #{} ({}):\n{}",
            entry.sequence,
            entry.state,
            serde_json::to_string_pretty(&payload)?
        );
    }
    Ok(())
}
