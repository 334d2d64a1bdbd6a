//! The delivery runtime: everything that must run in the background for webhooks to go out,
//! behind one type, [`Runtime`].

use std::sync::Arc;
use std::time::Duration;

use fms_core::delivery::DeliverySettings;
use fms_core::delivery::SettingsError;
use fms_core::dispatch::{BatchReport, Dispatcher, OnboardingDispatcher, OnboardingEndpoint};
use fms_core::sender::WebhookSender;
use fms_core::store::StoreError;
use fms_core::{EnqueueListener, Fms};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::dispatch_loop::{BatchObserver, DispatchLoop, LoopConfig};

/// Default [`RuntimeSettings::poll_interval`].
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Default [`RuntimeSettings::error_pause`].
pub const DEFAULT_ERROR_PAUSE: Duration = Duration::from_secs(1);
/// Default [`RuntimeSettings::sla_sweep_interval`].
pub const DEFAULT_SLA_SWEEP_INTERVAL: Duration = Duration::from_secs(10);
/// Default [`RuntimeSettings::sla_sweep_batch`].
pub const DEFAULT_SLA_SWEEP_BATCH: u32 = 100;

/// How the runtime delivers. `Default` gives the documented defaults.
#[derive(Clone)]
pub struct RuntimeSettings {
    /// Batch size, timeouts, backoff, lease, breaker. Default [`DeliverySettings::default`].
    pub delivery: DeliverySettings,
    /// How long a loop waits for a wake-up before looking for due rows anyway (retries that
    /// fall due, rows of processes that cannot wake it). Default 1 s.
    pub poll_interval: Duration,
    /// Pause after a store error before a loop tries again. Default 1 s.
    pub error_pause: Duration,
    /// Time between two SLA sweeps. Default 10 s.
    pub sla_sweep_interval: Duration,
    /// Tickets per SLA sweep query; a sweep that wrote activities runs again at once, so a
    /// backlog drains in one round. Default 100.
    pub sla_sweep_batch: u32,
    /// The onboarding endpoint (`MAKE_USER_ONBOARDING_WEBHOOK_URL`). Default `None`:
    /// onboarding requests are marked skipped.
    pub onboarding_url: Option<String>,
    /// The onboarding endpoint's signing secret (`whsec_...`). Default `None`: unsigned.
    pub onboarding_secret: Option<String>,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        Self {
            delivery: DeliverySettings::default(),
            poll_interval: DEFAULT_POLL_INTERVAL,
            error_pause: DEFAULT_ERROR_PAUSE,
            sla_sweep_interval: DEFAULT_SLA_SWEEP_INTERVAL,
            sla_sweep_batch: DEFAULT_SLA_SWEEP_BATCH,
            onboarding_url: None,
            onboarding_secret: None,
        }
    }
}

impl std::fmt::Debug for RuntimeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeSettings")
            .field("delivery", &self.delivery)
            .field("poll_interval", &self.poll_interval)
            .field("error_pause", &self.error_pause)
            .field("sla_sweep_interval", &self.sla_sweep_interval)
            .field("sla_sweep_batch", &self.sla_sweep_batch)
            .field("onboarding_url", &self.onboarding_url)
            .field(
                "onboarding_secret",
                &self.onboarding_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl RuntimeSettings {
    /// Sets the delivery settings.
    pub fn with_delivery(mut self, delivery: DeliverySettings) -> Self {
        self.delivery = delivery;
        self
    }

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

    /// Sets the time between two SLA sweeps.
    pub fn with_sla_sweep_interval(mut self, every: Duration) -> Self {
        self.sla_sweep_interval = every;
        self
    }

    /// Sets the tickets per SLA sweep query.
    pub fn with_sla_sweep_batch(mut self, batch: u32) -> Self {
        self.sla_sweep_batch = batch;
        self
    }

    /// Sets the onboarding endpoint and its signing secret.
    pub fn with_onboarding_endpoint(
        mut self,
        url: impl Into<String>,
        secret: Option<String>,
    ) -> Self {
        self.onboarding_url = Some(url.into());
        self.onboarding_secret = secret;
        self
    }

    /// Checks the settings: the delivery settings, and intervals and batch above zero.
    pub fn validate(&self) -> Result<(), RuntimeError> {
        self.delivery.validate()?;
        let invalid = |setting, reason| Err(RuntimeError::Invalid { setting, reason });
        if self.poll_interval.is_zero() {
            return invalid("poll_interval", "must be positive");
        }
        if self.sla_sweep_interval.is_zero() {
            return invalid("sla_sweep_interval", "must be positive");
        }
        if self.sla_sweep_batch == 0 {
            return invalid("sla_sweep_batch", "must be at least 1");
        }
        Ok(())
    }
}

/// What the runtime tells its observer (metrics, logs).
#[derive(Debug)]
#[non_exhaustive]
pub enum RuntimeEvent<'a> {
    /// The ticket webhook loop claimed rows (`claimed` set) or finished one row's send, or
    /// its store failed.
    Tickets(&'a Result<BatchReport, StoreError>),
    /// The same, for the onboarding request loop.
    Onboarding(&'a Result<BatchReport, StoreError>),
    /// An SLA sweep wrote this many activities, or failed.
    SlaSweep(&'a fms_core::Result<usize>),
}

/// Called for every [`RuntimeEvent`], from the runtime's tasks; must be cheap.
pub type RuntimeObserver = Arc<dyn Fn(RuntimeEvent<'_>) + Send + Sync>;

/// Why the runtime did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// A delivery setting is unusable.
    #[error(transparent)]
    Delivery(#[from] SettingsError),
    /// A runtime setting is unusable.
    #[error("invalid runtime setting {setting}: {reason}")]
    Invalid {
        /// The field's name.
        setting: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The store offers wake-ups on other processes' commits, but listening failed.
    #[error("cannot listen for other processes' commits")]
    Wakeups(#[source] StoreError),
}

/// Settings of a [`Runtime`] not yet started; see [`Runtime::builder`].
pub struct RuntimeBuilder {
    fms: Fms,
    sender: Arc<dyn WebhookSender>,
    settings: RuntimeSettings,
    observer: Option<RuntimeObserver>,
}

impl std::fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("fms", &self.fms)
            .field("sender", &self.sender)
            .field("settings", &self.settings)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl RuntimeBuilder {
    /// Replaces the settings (default [`RuntimeSettings::default`]).
    pub fn with_settings(mut self, settings: RuntimeSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Registers the observer (default none).
    pub fn with_observer(mut self, observer: RuntimeObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The settings.
    pub fn settings(&self) -> &RuntimeSettings {
        &self.settings
    }

    /// A ticket webhook dispatcher with these settings, the service's store and clock, for a
    /// per-tick [`Dispatcher::run_batch`] (cron style) without starting the runtime.
    pub fn dispatcher(&self) -> Dispatcher {
        Dispatcher::new(Arc::clone(self.fms.store()), Arc::clone(&self.sender))
            .with_settings(self.settings.delivery.clone())
            .with_clock(Arc::clone(self.fms.clock()))
    }

    /// The onboarding request dispatcher over [`RuntimeBuilder::dispatcher`], to the
    /// configured onboarding endpoint.
    pub fn onboarding_dispatcher(&self) -> OnboardingDispatcher {
        self.onboarding_over(self.dispatcher())
    }

    fn onboarding_over(&self, dispatcher: Dispatcher) -> OnboardingDispatcher {
        dispatcher.onboarding(OnboardingEndpoint {
            url: self.settings.onboarding_url.clone(),
            secret: self.settings.onboarding_secret.clone(),
        })
    }

    fn loop_config(&self, onboarding: bool) -> LoopConfig {
        let mut config = LoopConfig::default()
            .with_poll_interval(self.settings.poll_interval)
            .with_error_pause(self.settings.error_pause);
        if let Some(observer) = &self.observer {
            let observer = Arc::clone(observer);
            let batch: BatchObserver = Arc::new(move |result| {
                observer(if onboarding {
                    RuntimeEvent::Onboarding(result)
                } else {
                    RuntimeEvent::Tickets(result)
                })
            });
            config = config.with_observer(batch);
        }
        config
    }

    /// Validates the settings and spawns the loops, the wake-ups and the SLA sweeper on the
    /// current tokio runtime. Both loops run a first batch at once, and the sweeper a first
    /// sweep.
    pub async fn start(self) -> Result<Runtime, RuntimeError> {
        self.settings.validate()?;
        // The onboarding dispatcher shares the ticket dispatcher's stop flag: one stop
        // request stops both.
        let dispatcher = self.dispatcher();
        let onboarding = self.onboarding_over(dispatcher.clone());
        let tickets_loop = DispatchLoop::spawn(dispatcher.clone(), self.loop_config(false));
        let onboarding_loop = DispatchLoop::spawn(onboarding.clone(), self.loop_config(true));
        let listener: Arc<dyn EnqueueListener> = Arc::new(BothLoops {
            tickets: tickets_loop.listener(),
            onboarding: onboarding_loop.listener(),
        });
        let wakeups = match spawn_wakeups(&self.fms, Arc::clone(&listener)).await {
            Ok(wakeups) => wakeups,
            Err(e) => {
                dispatcher.request_stop();
                tokio::join!(tickets_loop.shutdown(), onboarding_loop.shutdown());
                return Err(e);
            }
        };
        let fms = self.fms.with_enqueue_listener(Arc::clone(&listener));
        let sweeper = Sweeper::spawn(fms.clone(), &self.settings, self.observer);
        Ok(Runtime {
            fms,
            listener,
            dispatcher,
            onboarding,
            tasks: Some(Tasks {
                tickets: tickets_loop,
                onboarding: onboarding_loop,
                sweeper,
                wakeups,
            }),
        })
    }
}

/// Starts the store's wake-ups on other processes' commits, if it offers them.
async fn spawn_wakeups(
    fms: &Fms,
    listener: Arc<dyn EnqueueListener>,
) -> Result<Option<JoinHandle<()>>, RuntimeError> {
    let Some(source) = fms.store().wakeups() else {
        return Ok(None);
    };
    let forwarder = source
        .listen(listener)
        .await
        .map_err(RuntimeError::Wakeups)?;
    Ok(forwarder.map(tokio::spawn))
}

/// The delivery runtime of an application: the background tasks that deliver ticket webhooks
/// and onboarding requests and sweep the SLA clocks.
///
/// [`Runtime::builder`] takes the service ([`Fms`], which holds the store and the clock) and
/// a [`WebhookSender`]; [`RuntimeBuilder::start`] spawns, on the current tokio runtime:
///
/// - the ticket webhook loop and the onboarding request loop ([`DispatchLoop`]s over one
///   [`Dispatcher`] and one [`OnboardingDispatcher`]), each woken at once by every commit
///   made through [`Runtime::fms`] (or any service given [`Runtime::listener`]) and otherwise
///   polling every [`RuntimeSettings::poll_interval`];
/// - the SLA sweeper ([`Fms::sweep_sla`]) as its own task, every
///   [`RuntimeSettings::sla_sweep_interval`];
/// - when the store offers them ([`OutboxStore::wakeups`](fms_core::store::OutboxStore::wakeups),
///   Postgres LISTEN/NOTIFY), wake-ups on commits made by other processes.
///
/// [`Runtime::shutdown`] stops it all in a fixed order; see there. The cron style needs none
/// of this: [`RuntimeBuilder::dispatcher`] and [`RuntimeBuilder::onboarding_dispatcher`] give
/// the dispatchers for a per-tick [`Dispatcher::run_batch`] without any background task.
///
/// Dropping it without [`Runtime::shutdown`] does not panic: the loops stop claiming, finish
/// their sends in the background, and the sweeper and the wake-ups stop; but nothing waits
/// for them.
#[derive(Debug)]
pub struct Runtime {
    fms: Fms,
    listener: Arc<dyn EnqueueListener>,
    dispatcher: Dispatcher,
    onboarding: OnboardingDispatcher,
    tasks: Option<Tasks>,
}

#[derive(Debug)]
struct Tasks {
    tickets: DispatchLoop,
    onboarding: DispatchLoop,
    sweeper: Sweeper,
    wakeups: Option<JoinHandle<()>>,
}

impl Runtime {
    /// A runtime for `fms` (its store and clock) sending with `sender`, with the default
    /// [`RuntimeSettings`] and no observer; [`RuntimeBuilder::start`] starts it.
    pub fn builder(fms: Fms, sender: Arc<dyn WebhookSender>) -> RuntimeBuilder {
        RuntimeBuilder {
            fms,
            sender,
            settings: RuntimeSettings::default(),
            observer: None,
        }
    }

    /// The service wired to this runtime: every commit through it (or its clones) wakes both
    /// loops at once. (It replaces a listener the service had.)
    pub fn fms(&self) -> &Fms {
        &self.fms
    }

    /// The listener that wakes both loops, for services built elsewhere
    /// (`Fms::with_enqueue_listener`) or signals from other processes. Any number of holders.
    pub fn listener(&self) -> Arc<dyn EnqueueListener> {
        Arc::clone(&self.listener)
    }

    /// The ticket webhook dispatcher the loop runs (for a cron endpoint's
    /// [`Dispatcher::run_batch`]; it shares the runtime's stop flag).
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// The onboarding request dispatcher the other loop runs.
    pub fn onboarding_dispatcher(&self) -> &OnboardingDispatcher {
        &self.onboarding
    }

    /// Stops gracefully, in this order:
    ///
    /// 1. the dispatchers stop claiming (both loops, and cron calls on
    ///    [`Runtime::dispatcher`]);
    /// 2. the SLA sweeper stops (a sweep under way finishes its writes; what it queued is
    ///    delivered by the next start);
    /// 3. the wake-ups on other processes' commits stop;
    /// 4. both loops finish: sends in flight complete and are recorded, claims whose send had
    ///    not started are released for the next dispatcher.
    pub async fn shutdown(mut self) {
        let Some(tasks) = self.tasks.take() else {
            return;
        };
        self.dispatcher.request_stop();
        tasks.sweeper.shutdown().await;
        if let Some(wakeups) = tasks.wakeups {
            wakeups.abort();
            let _ = wakeups.await;
        }
        tokio::join!(tasks.tickets.shutdown(), tasks.onboarding.shutdown());
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(tasks) = self.tasks.take() {
            // Dropping the loops' and the sweeper's stop channels ends them; the forwarder
            // would run forever, so it is aborted.
            self.dispatcher.request_stop();
            if let Some(wakeups) = tasks.wakeups {
                wakeups.abort();
            }
        }
    }
}

/// Wakes both loops on every commit.
#[derive(Debug)]
struct BothLoops {
    tickets: Arc<dyn EnqueueListener>,
    onboarding: Arc<dyn EnqueueListener>,
}

impl EnqueueListener for BothLoops {
    fn enqueued(&self) {
        self.tickets.enqueued();
        self.onboarding.enqueued();
    }
}

/// The SLA sweeper task.
#[derive(Debug)]
struct Sweeper {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Sweeper {
    fn spawn(fms: Fms, settings: &RuntimeSettings, observer: Option<RuntimeObserver>) -> Self {
        let (stop, stopped) = watch::channel(false);
        let (every, batch) = (settings.sla_sweep_interval, settings.sla_sweep_batch);
        let task = tokio::spawn(sweep(fms, every, batch, observer, stopped));
        Self { stop, task }
    }

    async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn sweep(
    fms: Fms,
    every: Duration,
    batch: u32,
    observer: Option<RuntimeObserver>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        // Again at once while sweeps write something, so a backlog drains in one round.
        loop {
            let result = fms.sweep_sla(batch).await;
            if let Some(observe) = &observer {
                observe(RuntimeEvent::SlaSweep(&result));
            }
            if !matches!(result, Ok(written) if written > 0) || *stopped.borrow() {
                break;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            // A stop, or the runtime dropped.
            _ = stopped.changed() => break,
        }
    }
}
