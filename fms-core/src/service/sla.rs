//! The SLA sweeper: turns the warning and breach moments of the SLA clocks into
//! `sla_warning` / `sla_breached` activities, exactly once per ticket and target.

use serde_json::json;

use crate::activity::NewActivity;
use crate::error::Result;
use crate::notification::{Notification, NotificationKind};
use crate::payload::wire_time;
use crate::rules::sla::{SlaClockKind, SlaEventKind};
use crate::store::{Step, StoreError, TicketChange, TicketUpdate};

use super::Fms;

impl Fms {
    /// Emits the SLA warnings and breaches due now, for at most `limit` tickets; returns how
    /// many activities it wrote. Safe to run from several processes at once: each ticket's
    /// events are written with its version as a fence, so a second sweeper loses the race,
    /// reloads, and finds nothing left to emit. Paused (`on-hold`), resolved and closed
    /// tickets get none.
    pub async fn sweep_sla(&self, limit: u32) -> Result<usize> {
        let now = self.clock.now();
        let mut written = 0;
        for ticket in self.store.sla_due(now, limit).await? {
            let Some(mut state) = ticket.sla_state.clone() else {
                continue;
            };
            let events = state.take_due_events(now);
            let mut steps = Vec::with_capacity(events.len());
            let mut notifications = Vec::new();
            for (i, event) in events.iter().enumerate() {
                let clock = match event.clock {
                    SlaClockKind::Response => "response",
                    SlaClockKind::Resolution => "resolution",
                };
                let activity = NewActivity::new(event.activity_type(), now).with_metadata(json!({
                    "clock": clock,
                    "at": wire_time(event.at),
                    "priority": state.priority.as_str(),
                    "policy": state.policy,
                }));
                // The first step persists the clocks with their events marked emitted.
                let update = if i == 0 {
                    TicketUpdate {
                        sla_state: Some(state.clone()),
                        ..TicketUpdate::default()
                    }
                } else {
                    TicketUpdate::default()
                };
                steps.push(Step { update, activity });
                if event.kind == SlaEventKind::Breach {
                    notifications.push(
                        Notification::for_admins(
                            ticket.tenant_id,
                            NotificationKind::SlaBreached,
                            format!("ticket {} missed its {clock} target", ticket.number),
                            now,
                        )
                        .about_ticket(ticket.id),
                    );
                }
            }
            if steps.is_empty() {
                // The store's due index and the clocks disagree (nothing left to emit): the
                // next write of the ticket's clocks corrects the index.
                continue;
            }
            let change = TicketChange {
                ticket_id: ticket.id,
                expected_version: Some(ticket.version),
                steps,
                notifications,
            };
            match self.store.change_ticket(&change).await {
                Ok(_) => written += events.len(),
                // Another sweeper (or a status change) got there first; the next sweep looks
                // at the fresh ticket.
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if written > 0 {
            self.enqueued();
        }
        Ok(written)
    }
}
