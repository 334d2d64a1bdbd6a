//! The onboarding webhook dispatcher: the same claim, sign, send, classify and fenced
//! completion as ticket webhooks, on the onboarding queue and its own endpoint
//! (`MAKE_USER_ONBOARDING_WEBHOOK_URL`), so the two never delay each other.

use crate::queue::{Completion, Resolution};
use crate::sender::WebhookRequest;
use crate::store::{OnboardingClaim, StoreError};

use super::dispatcher::Dispatcher;
use super::join::join_all;
use super::{BatchReport, DeliveryJob, Disposition};

/// Delivers onboarding requests to one endpoint.
#[derive(Debug, Clone)]
pub struct OnboardingDispatcher {
    inner: Dispatcher,
    url: Option<String>,
    secret: Option<String>,
}

impl OnboardingDispatcher {
    /// Delivers to `url` (rows are marked skipped while it is `None`), signing with `secret`
    /// (`whsec_...`; unsigned when `None`), with `dispatcher`'s store, sender, clock, settings
    /// and stop flag.
    pub fn new(dispatcher: Dispatcher, url: Option<String>, secret: Option<String>) -> Self {
        Self {
            inner: dispatcher,
            url,
            secret,
        }
    }

    /// The shared dispatcher (settings, stop flag).
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.inner
    }

    /// Claims and delivers one batch of onboarding rows.
    pub async fn run_batch(&self) -> Result<BatchReport, StoreError> {
        let jobs = self.claim_jobs(self.inner.settings().batch).await?;
        let mut report = BatchReport {
            claimed: jobs.len(),
            ..BatchReport::default()
        };
        for result in join_all(jobs).await {
            report.merge(result?);
        }
        Ok(report)
    }

    /// Claims up to `limit` onboarding rows, one job each (see [`Dispatcher::claim_jobs`]).
    pub async fn claim_jobs(&self, limit: u32) -> Result<Vec<DeliveryJob>, StoreError> {
        if self.inner.is_stopping() || limit == 0 {
            return Ok(Vec::new());
        }
        let options = self.inner.claim_options(limit);
        let claims = self.inner.store().claim_onboarding(&options).await?;
        Ok(claims
            .into_iter()
            .map(|claim| {
                let this = self.clone();
                let job: DeliveryJob = Box::pin(async move {
                    let mut report = BatchReport::default();
                    match this.deliver(claim).await {
                        Ok(Some(Disposition::Delivered)) => report.delivered += 1,
                        Ok(Some(Disposition::Park)) => report.parked += 1,
                        Ok(Some(Disposition::Skipped)) => report.skipped += 1,
                        Ok(Some(Disposition::Retry { .. })) => report.retried += 1,
                        Ok(None) => report.released += 1,
                        Err(StoreError::Conflict { .. }) => report.lost_leases += 1,
                        Err(e) => return Err(e),
                    }
                    Ok(report)
                });
                job
            })
            .collect())
    }

    async fn deliver(&self, claim: OnboardingClaim) -> Result<Option<Disposition>, StoreError> {
        let store = self.inner.store();
        let mut completion = Completion {
            entry: claim.entry.id,
            token: claim.token,
            now: self.inner.clock_now(),
            resolution: Resolution::Release,
            attempted: false,
            status_code: None,
            error: None,
            breaker: None,
        };
        if self.inner.is_stopping() {
            store.complete_onboarding(&completion).await?;
            return Ok(None);
        }
        let Some(url) = self.url.clone() else {
            completion.resolution = Resolution::Skipped;
            completion.error = Some("no onboarding webhook url is configured".into());
            store.complete_onboarding(&completion).await?;
            return Ok(Some(Disposition::Skipped));
        };
        let sent_at = self.inner.clock_now();
        let request = WebhookRequest {
            url,
            webhook_id: format!("onb_{}", claim.entry.correlation_id),
            timestamp: sent_at.timestamp(),
            body: serde_json::to_vec(&claim.payload).unwrap_or_default(),
            secret: self.secret.clone(),
            timeout: self.inner.settings().timeout,
        };
        let fate = self
            .inner
            .attempt(
                &request,
                claim.entry.attempts,
                claim.first_attempt_at,
                &mut completion,
            )
            .await;
        let effect = store.complete_onboarding(&completion).await?;
        self.inner
            .notify_trouble(
                claim.entry.tenant_id,
                &fate,
                &effect,
                "an onboarding request",
            )
            .await;
        Ok(Some(fate))
    }
}
