//! What each queue gives the dispatcher: its store port, how a claimed row becomes a request,
//! and how the row is named on the dashboard. Everything else is the one machine in
//! [`Dispatcher`](super::Dispatcher).

use chrono::{DateTime, Utc};

use crate::ids::TenantId;
use crate::payload::WebhookPayload;
use crate::queue::{Claim, OnboardingQueue, QueueKind, QueueRow, TicketQueue};
use crate::store::{QueueStore, Store};

/// A request ready to sign and send, as a queue's role builds it from a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Where to.
    pub url: String,
    /// The `webhook-id`: the same on every attempt of the row.
    pub webhook_id: String,
    /// The body.
    pub body: Vec<u8>,
    /// The signing secret (`whsec_...`), if any.
    pub secret: Option<String>,
}

/// A queue as the dispatcher drives it: the small part that differs between queues.
pub trait Delivery: QueueKind {
    /// Where the queue's rows go when the row does not say it (the onboarding endpoint); `()`
    /// for the ticket queue, whose rows carry their tenant's URL and secret.
    type Endpoint: std::fmt::Debug + Clone + Send + Sync + 'static;

    /// `store`'s port for this queue.
    fn port(store: &dyn Store) -> &dyn QueueStore<Self>;

    /// The request for `claim` sent at `sent_at`, or why the row is skipped unsent (no URL).
    fn prepare(
        endpoint: &Self::Endpoint,
        claim: &Claim<Self>,
        sent_at: DateTime<Utc>,
    ) -> Result<Prepared, String>;

    /// The tenant told about trouble with the row, and the row's name in that notification.
    fn subject(claim: &Claim<Self>) -> (TenantId, String);

    /// When the event the row announces happened (delivery latency is measured from it).
    fn happened_at(claim: &Claim<Self>) -> DateTime<Utc>;
}

impl Delivery for TicketQueue {
    type Endpoint = ();

    fn port(store: &dyn Store) -> &dyn QueueStore<Self> {
        store
    }

    fn prepare(_: &(), claim: &Claim<Self>, sent_at: DateTime<Utc>) -> Result<Prepared, String> {
        let tenant = &claim.message.tenant;
        let url = tenant
            .automation_webhook_url
            .clone()
            .ok_or_else(|| "the tenant has no automation webhook url".to_owned())?;
        Ok(Prepared {
            url,
            webhook_id: format!("msg_{}", claim.entry.activity_id.as_uuid().simple()),
            body: WebhookPayload::build(&claim.message, sent_at).to_bytes(),
            secret: Some(tenant.webhook_secret.clone()).filter(|s| !s.trim().is_empty()),
        })
    }

    fn subject(claim: &Claim<Self>) -> (TenantId, String) {
        (claim.entry.tenant_id, claim.message.ticket.number.clone())
    }

    fn happened_at(claim: &Claim<Self>) -> DateTime<Utc> {
        claim.message.activity.created_at
    }
}

/// The onboarding endpoint (`MAKE_USER_ONBOARDING_WEBHOOK_URL` in the example server).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OnboardingEndpoint {
    /// Where onboarding requests go; rows are skipped while it is `None`.
    pub url: Option<String>,
    /// The signing secret (`whsec_...`); unsigned when `None`.
    pub secret: Option<String>,
}

impl Delivery for OnboardingQueue {
    type Endpoint = OnboardingEndpoint;

    fn port(store: &dyn Store) -> &dyn QueueStore<Self> {
        store
    }

    fn prepare(
        endpoint: &OnboardingEndpoint,
        claim: &Claim<Self>,
        _sent_at: DateTime<Utc>,
    ) -> Result<Prepared, String> {
        let url = endpoint
            .url
            .clone()
            .ok_or_else(|| "no onboarding webhook url is configured".to_owned())?;
        let body = serde_json::to_vec(&claim.message)
            .map_err(|e| format!("the stored payload cannot be encoded: {e}"))?;
        Ok(Prepared {
            url,
            webhook_id: format!("onb_{}", claim.entry.correlation_id),
            body,
            secret: endpoint.secret.clone(),
        })
    }

    fn subject(claim: &Claim<Self>) -> (TenantId, String) {
        (claim.entry.tenant_id(), "an onboarding request".to_owned())
    }

    fn happened_at(claim: &Claim<Self>) -> DateTime<Utc> {
        claim.entry.created_at
    }
}
