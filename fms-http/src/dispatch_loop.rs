//! The long-running loop over one queue. It claims due rows ([`Dispatcher::claim_jobs`])
//! and runs each claimed row's delivery as its own task, claiming again as soon as any
//! finishes (at most one batch's worth in flight), so one slow receiver holds back only its
//! own ticket. It claims at once when the library commits queue rows (woken through an
//! [`EnqueueListener`]), and otherwise every poll interval, so retries that fall due and rows
//! written by other processes are picked up. It stops gracefully: no new claims, in-flight
//! sends finish and are recorded, claims whose send had not started are released.
//!
//! Most applications do not spawn loops themselves: [`Runtime`](crate::Runtime) runs the
//! ticket and onboarding loops, the SLA sweeper and the wake-ups behind one type.

use std::sync::Arc;
use std::time::Duration;

use fms_core::EnqueueListener;
use fms_core::dispatch::{BatchReport, Delivery, Dispatcher, Stopper};
use fms_core::store::StoreError;
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

/// Called after every batch (metrics, logs, notifications).
pub type BatchObserver =
    Arc<dyn Fn(&Result<BatchReport, fms_core::store::StoreError>) + Send + Sync>;

/// How the loop runs.
#[derive(Clone)]
pub struct LoopConfig {
    /// How long to wait for a wake-up before looking for due rows anyway. Default 1 s.
    pub poll_interval: Duration,
    /// Pause after a store error before trying again. Default 1 s.
    pub error_pause: Duration,
    /// Called after each batch.
    pub observer: Option<BatchObserver>,
}

impl Default for LoopConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            error_pause: Duration::from_secs(1),
            observer: None,
        }
    }
}

impl std::fmt::Debug for LoopConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopConfig")
            .field("poll_interval", &self.poll_interval)
            .field("error_pause", &self.error_pause)
            .finish_non_exhaustive()
    }
}

impl LoopConfig {
    /// Sets the poll interval.
    pub fn with_poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = every;
        self
    }

    /// Sets the pause after a store error.
    pub fn with_error_pause(mut self, pause: Duration) -> Self {
        self.error_pause = pause;
        self
    }

    /// Sets the observer.
    pub fn with_observer(mut self, observer: BatchObserver) -> Self {
        self.observer = Some(observer);
        self
    }
}

/// Wakes the loop. Hand it to `Fms::with_enqueue_listener`.
#[derive(Debug, Default)]
pub struct Wakeup(Notify);

impl EnqueueListener for Wakeup {
    fn enqueued(&self) {
        // Stores a permit when the loop is busy, so no wake-up is lost.
        self.0.notify_one();
    }
}

/// A running dispatcher loop on the current tokio runtime.
#[derive(Debug)]
pub struct DispatchLoop {
    stopper: Stopper,
    wakeup: Arc<Wakeup>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl DispatchLoop {
    /// Spawns the loop over a queue's [`Dispatcher`] (ticket webhooks or onboarding
    /// requests). It claims at once.
    pub fn spawn<Q: Delivery>(dispatcher: Dispatcher<Q>, config: LoopConfig) -> Self {
        let stopper = dispatcher.stopper();
        let wakeup = Arc::new(Wakeup::default());
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(dispatcher, Arc::clone(&wakeup), stopped, config));
        Self {
            stopper,
            wakeup,
            stop,
            task,
        }
    }

    /// The listener that wakes this loop; register it with `Fms::with_enqueue_listener`.
    pub fn listener(&self) -> Arc<dyn EnqueueListener> {
        self.wakeup.clone()
    }

    /// Wakes the loop now.
    pub fn wake(&self) {
        self.wakeup.enqueued();
    }

    /// Stops gracefully and waits for the loop to finish its batch.
    pub async fn shutdown(self) {
        self.stopper.request_stop();
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn run<Q: Delivery>(
    runner: Dispatcher<Q>,
    wakeup: Arc<Wakeup>,
    mut stopped: watch::Receiver<bool>,
    config: LoopConfig,
) {
    // At most one batch's worth of rows in flight; each row is its own task, and the loop
    // claims again as soon as any finishes, so one slow receiver (up to the request timeout)
    // holds back only its own ticket.
    let max_in_flight = runner.settings().batch.max(1) as usize;
    let mut in_flight: JoinSet<Result<BatchReport, StoreError>> = JoinSet::new();
    loop {
        if *stopped.borrow() {
            break;
        }
        let room = max_in_flight.saturating_sub(in_flight.len());
        match runner.claim_jobs(room as u32).await {
            Ok(jobs) => {
                let claimed = jobs.len();
                for job in jobs {
                    in_flight.spawn(job);
                }
                if claimed > 0 {
                    let report = BatchReport {
                        claimed,
                        ..BatchReport::default()
                    };
                    observe(&config, &Ok(report));
                }
            }
            Err(e) => {
                observe(&config, &Err(e));
                tokio::select! {
                    _ = tokio::time::sleep(config.error_pause) => {}
                    _ = stopped.changed() => break,
                }
                continue;
            }
        }
        tokio::select! {
            // A finished row frees a slot and may unblock its ticket's next row.
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => report(&config, done),
            _ = wakeup.0.notified() => {}
            _ = tokio::time::sleep(config.poll_interval) => {}
            _ = stopped.changed() => break,
        }
    }
    // Graceful stop: nothing new is claimed; rows in flight finish and are recorded (a row
    // whose send had not started is released by the dispatcher).
    while let Some(done) = in_flight.join_next().await {
        report(&config, done);
    }
}

fn observe(config: &LoopConfig, result: &Result<BatchReport, StoreError>) {
    if let Some(observe) = &config.observer {
        observe(result);
    }
}

fn report(
    config: &LoopConfig,
    done: Result<Result<BatchReport, StoreError>, tokio::task::JoinError>,
) {
    // A panicked delivery task reports nothing: its row's lease expires and a later claim
    // retries it.
    if let Ok(result) = done {
        observe(config, &result);
    }
}
