//! Intake: the spec's JSON in, a stored ticket with its activities and queue rows out; and the
//! rule engine's dry run.

use serde_json::{Value, json};

use crate::activity::{ActivityType, NewActivity};
use crate::error::{Error, Result};
use crate::ids::TicketId;
use crate::intake::{NewTicket, validate_idempotency_key};
use crate::notification::{Notification, NotificationKind};
use crate::rules::{BusinessCalendar, Decision, DecisionInput, RuleSet, decide};
use crate::store::{CreateTicket, IntakeContext, Step, StoreError, TicketUpdate};
use crate::ticket::{Status, Ticket};
use crate::user::User;

use super::Fms;
use super::rules::default_rules;

/// How often an intake decides again after a concurrent intake moved a round-robin cursor.
const MAX_DECISION_RETRIES: usize = 1000;

/// The result of an intake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The ticket (for a repeated idempotency key, the first one).
    pub ticket: Ticket,
    /// Whether the idempotency key had been seen before (nothing new was created).
    pub duplicate: bool,
}

impl Fms {
    /// The spec's intake: validates the JSON body, resolves the complainant by chat id in the
    /// named tenant, runs the rule engine and stores the ticket with its activities and queue
    /// rows in one transaction. When the engine chooses an executor, the same transaction
    /// records `executor_assigned` and moves the ticket to `in-progress`. `idempotency_key` (or
    /// the body's `message_id`) makes retries safe: the same key in the same tenant returns the
    /// first ticket and creates nothing.
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
        let mut attempt = 0;
        loop {
            let context = self.context(&draft).await?;
            let complainant = complainant(&draft, &context)?;
            let now = self.clock.now();
            let decision = decide_with(&draft, &complainant, &context, now);
            let calendar = context.calendar.as_ref();
            let new = creation(&draft, &complainant, &decision, calendar, now, key.clone());
            match self.store.create_ticket(&new).await {
                // A concurrent intake moved the round-robin cursor (or took the idempotency
                // key): decide again on fresh data.
                Err(StoreError::Conflict { .. }) if attempt < MAX_DECISION_RETRIES => {
                    attempt += 1;
                }
                other => {
                    let created = other?;
                    if !created.duplicate {
                        self.enqueued();
                    }
                    return Ok(Ingested {
                        ticket: created.ticket,
                        duplicate: created.duplicate,
                    });
                }
            }
        }
    }

    /// Runs the tenant's rule engine on an intake body and returns the decision with its trace;
    /// stores nothing. The complainant must exist (and be active) as for a real intake.
    pub async fn dry_run(&self, body: &Value) -> Result<Decision> {
        let draft = NewTicket::from_json(body)?;
        let context = self.context(&draft).await?;
        let complainant = complainant(&draft, &context)?;
        Ok(decide_with(
            &draft,
            &complainant,
            &context,
            self.clock.now(),
        ))
    }

    async fn context(&self, draft: &NewTicket) -> Result<IntakeContext> {
        self.store
            .intake_context(draft.tenant_id, &draft.chat_id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => Error::invalid("tenant_id", "no such tenant"),
                other => other.into(),
            })
    }
}

fn complainant(draft: &NewTicket, context: &IntakeContext) -> Result<User> {
    let user = context
        .complainant
        .clone()
        .ok_or_else(|| Error::UserNotFound {
            chat_id: draft.chat_id.clone(),
        })?;
    if !user.active {
        return Err(Error::UserInactive);
    }
    Ok(user)
}

fn decide_with(
    draft: &NewTicket,
    complainant: &User,
    context: &IntakeContext,
    now: chrono::DateTime<chrono::Utc>,
) -> Decision {
    let fallback: RuleSet;
    let rules = match &context.rules {
        Some(r) => r,
        None => {
            fallback = default_rules();
            &fallback
        }
    };
    let mut input = DecisionInput::new(&draft.report, complainant, now)
        .with_rules(rules)
        .with_roster(&context.roster)
        .with_cursors(&context.cursors);
    input.calendar = context.calendar.as_ref();
    decide(&input)
}

/// The write of a new ticket: the `ticket_created` activity (with the decision and its trace)
/// and, when an executor was chosen, the assignment that moves it to `in-progress`.
fn creation(
    draft: &NewTicket,
    complainant: &User,
    decision: &Decision,
    calendar: Option<&BusinessCalendar>,
    now: chrono::DateTime<chrono::Utc>,
    key: Option<String>,
) -> CreateTicket {
    let created = NewActivity::new(ActivityType::TicketCreated, now).with_metadata(json!({
        "submitted_priority": draft.report.submitted_priority.as_str(),
        "final_priority": decision.priority.as_str(),
        "sla_policy": decision.sla_policy,
        "executor_id": decision.executor.map(|e| e.to_string()),
        "unassigned_reason": decision.unassigned_reason,
        "trace": decision.trace,
    }));
    let mut steps = vec![Step::activity(created)];
    if let Some(executor) = decision.executor {
        // The assignment is the first response.
        let mut responded = decision.sla_state.clone();
        responded.respond(now, calendar);
        let assigned = NewActivity::new(ActivityType::ExecutorAssigned, now).with_metadata(json!({
            "executor_id": executor.to_string(),
            "previous_executor_id": null,
            "assigned_by": "rule_engine",
            "pool": decision.pool,
        }));
        steps.push(Step {
            update: TicketUpdate {
                status: Some(Status::InProgress),
                executor_id: Some(Some(executor)),
                sla: Some(responded.due()),
                sla_state: Some(responded),
                ..TicketUpdate::default()
            },
            activity: assigned,
        });
    }
    let id = TicketId::new();
    let notifications = match (&decision.executor, &decision.unassigned_reason) {
        (None, Some(reason)) => vec![
            Notification::for_admins(
                draft.tenant_id,
                NotificationKind::TicketUnassigned,
                format!(
                    "a new {} ticket could not be assigned: {reason}",
                    draft.report.category
                ),
                now,
            )
            .about_ticket(id),
        ],
        _ => Vec::new(),
    };
    CreateTicket {
        id,
        tenant_id: draft.tenant_id,
        complainant_id: complainant.id,
        report: draft.report.clone(),
        priority: decision.priority,
        sla: decision.sla,
        sla_state: Some(decision.sla_state.clone()),
        cursor: decision.round_robin.clone(),
        created_at: now,
        steps,
        idempotency_key: key,
        notifications,
    }
}
