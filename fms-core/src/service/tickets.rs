//! Tickets: intake, activities, status changes, assignment, reads.

use serde_json::{Value, json};

use crate::activity::{Activity, ActivityType, NewActivity};
use crate::error::{Error, Result};
use crate::ids::{TicketId, UserId};
use crate::intake::{LONG_TEXT_MAX, check_text};
use crate::rules::sla::targets_for;
use crate::rules::{BusinessCalendar, SlaState};
use crate::store::{Step, StoreError, TicketChange, TicketQuery, TicketUpdate};
use crate::ticket::{Priority, Status, Ticket};
use crate::user::{Role, User};
use crate::workflow;

use super::Fms;

/// How often an optimistic write is retried after a concurrent change.
const MAX_CONFLICT_RETRIES: usize = 8;
/// Largest activity metadata accepted, serialized.
pub const METADATA_MAX_BYTES: usize = 16 * 1024;

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
                notifications: Vec::new(),
            })
            .await?;
        self.enqueued();
        Ok(stored)
    }

    /// Moves a ticket along the workflow (see [`crate::workflow`]), recording a
    /// `status_changed` activity. The SLA clocks follow: `on-hold` pauses the resolution clock
    /// and leaving it resumes it with the time used kept; `resolved` stops both clocks;
    /// reopening resumes resolution; the first move to `in-progress` is the first response.
    pub async fn change_status(
        &self,
        ticket_id: TicketId,
        to: Status,
        changed_by: Option<UserId>,
        note: Option<String>,
    ) -> Result<Ticket> {
        let note = comment(note)?;
        let ticket = self.store.ticket(ticket_id).await?;
        let calendar = self.store.calendar(ticket.tenant_id).await?;
        let cal = calendar.as_ref();
        self.change_with_retry(
            ticket,
            |ticket, now| {
                let from = ticket.status;
                workflow::transition(from, to)?;
                let sla_state = ticket.sla_state.clone().map(|mut state| {
                    match (from, to) {
                        (_, Status::OnHold) => state.pause(now, cal),
                        (Status::OnHold, _) => state.resume(now, cal),
                        (_, Status::Resolved) => state.resolve(now, cal),
                        (Status::Resolved, Status::InProgress) => state.reopen(now, cal),
                        (Status::Open, Status::InProgress) => state.respond(now, cal),
                        _ => {}
                    }
                    state
                });
                let activity = NewActivity::new(ActivityType::StatusChanged, now)
                    .with_comment(note.clone())
                    .with_metadata(json!({"from": from.as_str(), "to": to.as_str()}))
                    .with_created_by(changed_by);
                Ok(vec![Step {
                    update: TicketUpdate {
                        status: Some(to),
                        sla: sla_state.as_ref().map(SlaState::due),
                        sla_state,
                        ..TicketUpdate::default()
                    },
                    activity,
                }])
            },
            changed_by,
        )
        .await
    }

    /// Changes a ticket's priority, recording a `priority_changed` activity. The SLA due times
    /// are recomputed for the new priority, keeping the time already used.
    pub async fn change_priority(
        &self,
        ticket_id: TicketId,
        priority: Priority,
        changed_by: Option<UserId>,
        note: Option<String>,
    ) -> Result<Ticket> {
        let note = comment(note)?;
        let ticket = self.store.ticket(ticket_id).await?;
        let calendar = self.store.calendar(ticket.tenant_id).await?;
        let rules = self.rules(ticket.tenant_id).await?;
        self.change_with_retry(
            ticket,
            |ticket, now| {
                if ticket.priority == priority {
                    return Err(Error::Conflict {
                        reason: format!("the ticket's priority is already {priority}"),
                    });
                }
                if ticket.status == Status::Closed {
                    return Err(Error::Conflict {
                        reason: "a closed ticket's priority cannot change".into(),
                    });
                }
                let sla_state = ticket.sla_state.clone().map(|mut state| {
                    let targets = targets_for(Some(&rules), &state.policy);
                    state.change_priority(priority, &targets, now, calendar.as_ref());
                    state
                });
                let activity = NewActivity::new(ActivityType::PriorityChanged, now)
                    .with_comment(note.clone())
                    .with_metadata(json!({
                        "from": ticket.priority.as_str(),
                        "to": priority.as_str(),
                    }))
                    .with_created_by(changed_by);
                Ok(vec![Step {
                    update: TicketUpdate {
                        priority: Some(priority),
                        sla: sla_state.as_ref().map(SlaState::due),
                        sla_state,
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
        let ticket = self.store.ticket(ticket_id).await?;
        let calendar = self.store.calendar(ticket.tenant_id).await?;
        self.change_with_retry(
            ticket,
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
                    calendar.as_ref(),
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

    /// Lets `plan` decide the steps for `ticket` (as just loaded), and writes them if the
    /// ticket has not changed meanwhile; on a concurrent change, loads the ticket again and
    /// starts over. The actor is checked once: a ticket never changes tenant.
    async fn change_with_retry<F>(
        &self,
        mut ticket: Ticket,
        plan: F,
        actor: Option<UserId>,
    ) -> Result<Ticket>
    where
        F: Fn(&Ticket, chrono::DateTime<chrono::Utc>) -> Result<Vec<Step>> + Send + Sync,
    {
        if let Some(actor) = actor {
            self.author_in_tenant("changed_by", actor, &ticket).await?;
        }
        let mut attempt = 0;
        loop {
            let steps = plan(&ticket, self.clock.now())?;
            let change = TicketChange {
                ticket_id: ticket.id,
                expected_version: Some(ticket.version),
                steps,
                notifications: Vec::new(),
            };
            match self.store.change_ticket(&change).await {
                Err(StoreError::Conflict { .. }) if attempt < MAX_CONFLICT_RETRIES => {
                    attempt += 1;
                    ticket = self.store.ticket(ticket.id).await?;
                }
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

/// The step of assigning `executor` to `ticket`: an open ticket moves to `in-progress`, and
/// the assignment counts as the first response.
pub(super) fn assignment_step(
    ticket: &Ticket,
    executor: &User,
    by: Option<UserId>,
    calendar: Option<&BusinessCalendar>,
    now: chrono::DateTime<chrono::Utc>,
) -> Step {
    let status = (ticket.status == Status::Open).then_some(Status::InProgress);
    let sla_state = ticket.sla_state.clone().map(|mut state| {
        state.respond(now, calendar);
        state
    });
    let activity = NewActivity::new(ActivityType::ExecutorAssigned, now)
        .with_metadata(json!({
            "executor_id": executor.id.to_string(),
            "executor_name": executor.name,
            "previous_executor_id": ticket.executor_id.map(|e| e.to_string()),
            "assigned_by": if by.is_some() { "user" } else { "api" },
        }))
        .with_created_by(by);
    Step {
        update: TicketUpdate {
            status,
            executor_id: Some(Some(executor.id)),
            sla: sla_state.as_ref().map(SlaState::due),
            sla_state,
            ..TicketUpdate::default()
        },
        activity,
    }
}

pub(super) fn comment(c: Option<String>) -> Result<Option<String>> {
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
