//! Tickets: intake, activities, status changes, assignment, reads.

use serde_json::{Value, json};

use crate::activity::{Activity, ActivityType, NewActivity};
use crate::decision::Decision;
use crate::error::{Error, Result};
use crate::ids::{TicketId, UserId};
use crate::intake::{LONG_TEXT_MAX, NewTicket, check_text, validate_idempotency_key};
use crate::store::{CreateTicket, Step, StoreError, TicketChange, TicketQuery, TicketUpdate};
use crate::ticket::{Status, Ticket};
use crate::user::{Role, User};
use crate::workflow;

use super::Fms;

/// How often an optimistic write is retried after a concurrent change.
const MAX_CONFLICT_RETRIES: usize = 8;
/// Largest activity metadata accepted, serialized.
pub const METADATA_MAX_BYTES: usize = 16 * 1024;

/// The result of an intake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The ticket (for a repeated idempotency key, the first one).
    pub ticket: Ticket,
    /// Whether the idempotency key had been seen before (nothing new was created).
    pub duplicate: bool,
}

/// An activity a caller adds (a comment, an executor update, a complainant interaction).
#[derive(Debug, Clone, PartialEq)]
pub struct AddActivity {
    /// One of [`ActivityType::USER_WRITABLE`].
    pub activity_type: ActivityType,
    /// Free text, at most 4000 characters.
    pub comment: Option<String>,
    /// A JSON object (or null), at most 16 KiB serialized.
    pub metadata: Value,
    /// The author: a user of the ticket's tenant.
    pub created_by: UserId,
}

impl Fms {
    /// The spec's intake: validates the JSON body, resolves the complainant by chat id in the
    /// named tenant, runs the rule engine and stores the ticket with its activities and queue
    /// rows in one transaction. `idempotency_key` (or the body's `message_id`) makes retries
    /// safe: the same key in the same tenant returns the first ticket.
    pub async fn ingest(&self, body: &Value, idempotency_key: Option<&str>) -> Result<Ingested> {
        let draft = NewTicket::from_json(body)?;
        let key = match idempotency_key {
            Some(k) => Some(validate_idempotency_key("Idempotency-Key", k)?),
            None => draft.message_id.clone(),
        };
        self.ingest_ticket(draft, key).await
    }

    /// [`Fms::ingest`] for an already validated draft.
    pub async fn ingest_ticket(&self, draft: NewTicket, key: Option<String>) -> Result<Ingested> {
        let tenant = self
            .store
            .tenant(draft.tenant_id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => Error::invalid("tenant_id", "no such tenant"),
                other => other.into(),
            })?;
        let complainant = self
            .store
            .user_by_chat_id(tenant.id, &draft.chat_id)
            .await?
            .ok_or_else(|| Error::UserNotFound {
                chat_id: draft.chat_id.clone(),
            })?;
        if !complainant.active {
            return Err(Error::UserInactive);
        }
        let now = self.clock.now();
        let decision = Decision::plain(&draft.report, now);
        let new = creation(&draft, &complainant, &decision, now, key);
        let created = self.store.create_ticket(&new).await?;
        if !created.duplicate {
            self.enqueued();
        }
        Ok(Ingested {
            ticket: created.ticket,
            duplicate: created.duplicate,
        })
    }

    /// Appends a caller's activity (comment, executor update, complainant interaction).
    pub async fn add_activity(&self, ticket_id: TicketId, add: AddActivity) -> Result<Activity> {
        if !add.activity_type.is_user_writable() {
            let allowed = ActivityType::USER_WRITABLE
                .map(ActivityType::as_str)
                .join(", ");
            return Err(Error::invalid(
                "type",
                format!(
                    "{} is written by fms itself; allowed: {allowed}",
                    add.activity_type
                ),
            ));
        }
        let comment = comment(add.comment)?;
        let metadata = metadata(add.metadata)?;
        let ticket = self.store.ticket(ticket_id).await?;
        self.author_in_tenant("created_by", add.created_by, &ticket)
            .await?;
        let activity = NewActivity::new(add.activity_type, self.clock.now())
            .with_comment(comment)
            .with_metadata(metadata)
            .with_created_by(Some(add.created_by));
        let stored = activity.clone().into_activity(ticket.id, ticket.tenant_id);
        self.store
            .change_ticket(&TicketChange {
                ticket_id,
                expected_version: None,
                steps: vec![Step::activity(activity)],
            })
            .await?;
        self.enqueued();
        Ok(stored)
    }

    /// Moves a ticket along the workflow (see [`crate::workflow`]), recording a
    /// `status_changed` activity.
    pub async fn change_status(
        &self,
        ticket_id: TicketId,
        to: Status,
        changed_by: Option<UserId>,
        note: Option<String>,
    ) -> Result<Ticket> {
        let note = comment(note)?;
        self.change_with_retry(
            ticket_id,
            |ticket, now| {
                let from = ticket.status;
                workflow::transition(from, to)?;
                let activity = NewActivity::new(ActivityType::StatusChanged, now)
                    .with_comment(note.clone())
                    .with_metadata(json!({"from": from.as_str(), "to": to.as_str()}))
                    .with_created_by(changed_by);
                Ok(vec![Step {
                    update: TicketUpdate {
                        status: Some(to),
                        ..TicketUpdate::default()
                    },
                    activity,
                }])
            },
            changed_by,
        )
        .await
    }

    /// Assigns (or reassigns) an executor: an active executor of the ticket's tenant. An open
    /// ticket moves to `in-progress`. Closed tickets cannot be assigned.
    pub async fn assign_executor(
        &self,
        ticket_id: TicketId,
        executor_id: UserId,
        assigned_by: Option<UserId>,
    ) -> Result<Ticket> {
        let executor = self.store.user(executor_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => Error::invalid("executor_id", "no such user"),
            other => other.into(),
        })?;
        if executor.role != Role::Executor {
            return Err(Error::invalid("executor_id", "the user is not an executor"));
        }
        if !executor.active {
            return Err(Error::invalid("executor_id", "the executor is not active"));
        }
        self.change_with_retry(
            ticket_id,
            |ticket, now| {
                if executor.tenant_id != ticket.tenant_id {
                    return Err(Error::invalid("executor_id", "no such user in this tenant"));
                }
                if ticket.status == Status::Closed {
                    return Err(Error::Conflict {
                        reason: "a closed ticket cannot be assigned".into(),
                    });
                }
                if ticket.executor_id == Some(executor.id) {
                    return Err(Error::Conflict {
                        reason: "the ticket is already assigned to this executor".into(),
                    });
                }
                Ok(vec![assignment_step(
                    ticket,
                    &executor,
                    assigned_by,
                    json!({}),
                    now,
                )])
            },
            assigned_by,
        )
        .await
    }

    /// Loads a ticket.
    pub async fn ticket(&self, id: TicketId) -> Result<Ticket> {
        Ok(self.store.ticket(id).await?)
    }

    /// Lists a tenant's tickets, newest first.
    pub async fn tickets(&self, query: &TicketQuery) -> Result<Vec<Ticket>> {
        Ok(self.store.tickets(query).await?)
    }

    /// A ticket's activities, oldest first.
    pub async fn activities(&self, id: TicketId) -> Result<Vec<Activity>> {
        Ok(self.store.activities(id).await?)
    }

    /// Loads the ticket, lets `plan` decide the steps, and writes them if the ticket has not
    /// changed meanwhile; on a concurrent change, starts over with the fresh ticket.
    async fn change_with_retry<F>(
        &self,
        ticket_id: TicketId,
        plan: F,
        actor: Option<UserId>,
    ) -> Result<Ticket>
    where
        F: Fn(&Ticket, chrono::DateTime<chrono::Utc>) -> Result<Vec<Step>> + Send + Sync,
    {
        let mut attempt = 0;
        loop {
            let ticket = self.store.ticket(ticket_id).await?;
            if let Some(actor) = actor {
                self.author_in_tenant("changed_by", actor, &ticket).await?;
            }
            let steps = plan(&ticket, self.clock.now())?;
            let change = TicketChange {
                ticket_id,
                expected_version: Some(ticket.version),
                steps,
            };
            match self.store.change_ticket(&change).await {
                Err(StoreError::Conflict { .. }) if attempt < MAX_CONFLICT_RETRIES => attempt += 1,
                other => {
                    let ticket = other?;
                    self.enqueued();
                    return Ok(ticket);
                }
            }
        }
    }

    async fn author_in_tenant(&self, field: &str, user: UserId, ticket: &Ticket) -> Result<User> {
        match self.store.user(user).await {
            Ok(u) if u.tenant_id == ticket.tenant_id => Ok(u),
            Ok(_) | Err(StoreError::NotFound { .. }) => {
                Err(Error::invalid(field, "no such user in this tenant"))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// The write of a new ticket: the `ticket_created` activity (with the decision and its trace)
/// and, when an executor was chosen, the assignment that moves it to `in-progress`.
fn creation(
    draft: &NewTicket,
    complainant: &User,
    decision: &Decision,
    now: chrono::DateTime<chrono::Utc>,
    key: Option<String>,
) -> CreateTicket {
    let created = NewActivity::new(ActivityType::TicketCreated, now).with_metadata(json!({
        "submitted_priority": draft.report.submitted_priority.as_str(),
        "final_priority": decision.priority.as_str(),
        "decision": decision,
    }));
    let mut steps = vec![Step::activity(created)];
    let id = TicketId::new();
    if let Some(executor) = decision.executor {
        let assigned = NewActivity::new(ActivityType::ExecutorAssigned, now).with_metadata(json!({
            "executor_id": executor.to_string(),
            "previous_executor_id": null,
            "by": "rule_engine",
        }));
        steps.push(Step {
            update: TicketUpdate {
                status: Some(Status::InProgress),
                executor_id: Some(Some(executor)),
                ..TicketUpdate::default()
            },
            activity: assigned,
        });
    }
    CreateTicket {
        id,
        tenant_id: draft.tenant_id,
        complainant_id: complainant.id,
        report: draft.report.clone(),
        priority: decision.priority,
        sla: decision.sla,
        created_at: now,
        steps,
        idempotency_key: key,
    }
}

/// The step of assigning `executor` to `ticket` (open tickets move to `in-progress`).
fn assignment_step(
    ticket: &Ticket,
    executor: &User,
    by: Option<UserId>,
    extra: Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Step {
    let status = (ticket.status == Status::Open).then_some(Status::InProgress);
    let activity = NewActivity::new(ActivityType::ExecutorAssigned, now)
        .with_metadata(json!({
            "executor_id": executor.id.to_string(),
            "executor_name": executor.name,
            "previous_executor_id": ticket.executor_id.map(|e| e.to_string()),
            "extra": extra,
        }))
        .with_created_by(by);
    Step {
        update: TicketUpdate {
            status,
            executor_id: Some(Some(executor.id)),
            ..TicketUpdate::default()
        },
        activity,
    }
}

fn comment(c: Option<String>) -> Result<Option<String>> {
    match c.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => {
            check_text("comment", t, LONG_TEXT_MAX)?;
            Ok(Some(t.to_owned()))
        }
    }
}

fn metadata(m: Value) -> Result<Value> {
    match m {
        Value::Null => Ok(Value::Object(Default::default())),
        Value::Object(_) => {
            if serde_json::to_vec(&m).map_or(0, |v| v.len()) > METADATA_MAX_BYTES {
                return Err(Error::invalid("metadata", "larger than 16 KiB"));
            }
            Ok(m)
        }
        _ => Err(Error::invalid("metadata", "must be a JSON object")),
    }
}
