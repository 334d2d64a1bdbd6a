//! Prometheus metrics: counters updated by the handlers and by every dispatcher batch (the
//! background loop's observer and the cron endpoint), the webhook backlog (rows not done yet)
//! read from the store at scrape time.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use fms::dispatch::BatchReport;
use fms::queue::QueueState;

/// Upper bounds of the delivery latency histogram, in seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// The outcome counters of one queue's dispatcher batches.
#[derive(Debug, Default)]
struct Outcomes {
    delivered: AtomicU64,
    failures: AtomicU64,
    parked: AtomicU64,
    skipped: AtomicU64,
    batch_errors: AtomicU64,
}

impl Outcomes {
    /// Adds one batch; the report, if the batch ran.
    fn record<'r>(
        &self,
        result: &'r Result<BatchReport, fms::store::StoreError>,
    ) -> Option<&'r BatchReport> {
        let Ok(report) = result else {
            self.batch_errors.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let add = |c: &AtomicU64, n: usize| {
            c.fetch_add(n as u64, Ordering::Relaxed);
        };
        add(&self.delivered, report.delivered);
        add(&self.failures, report.retried + report.parked);
        add(&self.parked, report.parked);
        add(&self.skipped, report.skipped);
        Some(report)
    }
}

/// The process's counters.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    tickets_created: AtomicU64,
    duplicates: AtomicU64,
    webhooks: Outcomes,
    onboarding: Outcomes,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_ms: AtomicU64,
}

impl Metrics {
    /// An intake answered: a new ticket or a duplicate.
    pub(crate) fn intake(&self, duplicate: bool) {
        let c = if duplicate {
            &self.duplicates
        } else {
            &self.tickets_created
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// One ticket-webhook dispatcher batch finished.
    pub(crate) fn batch(&self, result: &Result<BatchReport, fms::store::StoreError>) {
        let Some(report) = self.webhooks.record(result) else {
            return;
        };
        for &ms in &report.delivery_latencies_ms {
            let ms = ms.max(0) as u64;
            let secs = ms as f64 / 1000.0;
            if let Some(i) = LATENCY_BUCKETS.iter().position(|&le| secs <= le) {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
            self.latency_count.fetch_add(1, Ordering::Relaxed);
            self.latency_sum_ms.fetch_add(ms, Ordering::Relaxed);
        }
    }

    /// One onboarding-webhook dispatcher batch finished.
    pub(crate) fn onboarding_batch(&self, result: &Result<BatchReport, fms::store::StoreError>) {
        self.onboarding.record(result);
    }

    /// The Prometheus text exposition, with the backlog (rows not done yet) per state.
    pub(crate) fn render(&self, queue: &[(QueueState, u64)]) -> String {
        let mut out = String::with_capacity(2048);
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        out.push_str(
            "# HELP fms_webhook_queue_rows Webhook queue rows not done yet, by state \
             (finished rows: fms_webhook_deliveries_total, fms_webhook_skipped_total).\n",
        );
        out.push_str("# TYPE fms_webhook_queue_rows gauge\n");
        for state in QueueState::ALL.into_iter().filter(|s| !s.is_done()) {
            let n = queue
                .iter()
                .find(|(s, _)| *s == state)
                .map_or(0, |(_, n)| *n);
            let _ = writeln!(out, "fms_webhook_queue_rows{{state=\"{state}\"}} {n}");
        }
        let counters = [
            (
                "fms_tickets_created_total",
                "Tickets created by intake (duplicates not counted).",
                get(&self.tickets_created),
            ),
            (
                "fms_intake_duplicates_total",
                "Intakes answered with an earlier ticket (same idempotency key).",
                get(&self.duplicates),
            ),
            (
                "fms_webhook_deliveries_total",
                "Webhook rows delivered (2xx).",
                get(&self.webhooks.delivered),
            ),
            (
                "fms_webhook_delivery_failures_total",
                "Failed webhook attempts (rescheduled or parked).",
                get(&self.webhooks.failures),
            ),
            (
                "fms_webhook_parked_total",
                "Webhook rows parked after the retry age.",
                get(&self.webhooks.parked),
            ),
            (
                "fms_webhook_skipped_total",
                "Webhook rows skipped (tenant without a webhook URL).",
                get(&self.webhooks.skipped),
            ),
            (
                "fms_dispatcher_batch_errors_total",
                "Dispatcher batches that failed on the store.",
                get(&self.webhooks.batch_errors),
            ),
            (
                "fms_onboarding_deliveries_total",
                "Onboarding requests delivered (2xx).",
                get(&self.onboarding.delivered),
            ),
            (
                "fms_onboarding_delivery_failures_total",
                "Failed onboarding webhook attempts (rescheduled or parked).",
                get(&self.onboarding.failures),
            ),
            (
                "fms_onboarding_parked_total",
                "Onboarding requests parked after the retry age.",
                get(&self.onboarding.parked),
            ),
            (
                "fms_onboarding_skipped_total",
                "Onboarding requests skipped (no onboarding webhook URL).",
                get(&self.onboarding.skipped),
            ),
            (
                "fms_onboarding_batch_errors_total",
                "Onboarding dispatcher batches that failed on the store.",
                get(&self.onboarding.batch_errors),
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        let name = "fms_webhook_delivery_latency_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} From an activity to its webhook's 2xx.\n# TYPE {name} histogram"
        );
        let mut cumulative = 0;
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            cumulative += get(&self.latency_buckets[i]);
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let count = get(&self.latency_count);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = get(&self.latency_sum_ms) as f64 / 1000.0;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
        out
    }
}
