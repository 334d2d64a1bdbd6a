//! # fms-server
//!
//! The fms ticket library behind HTTP, so that a Make scenario (or curl) uses it exactly as
//! the spec's Supabase functions, changing only its base URL. The server documents its
//! contract itself at `GET /openapi.json` (and its settings in `--help`).
//!
//! The binary of this package is the server (`cargo run --release -p fms-server`, settings in
//! `--help`). This library is the same server as a reusable piece, for the binary, the
//! end-to-end tests and the benchmark: [`Settings`] (read from the environment, or built in
//! code), [`open_store`] (the store `DATABASE_URL` names), and [`start`], which serves on a
//! bound listener until [`Running::shutdown`].
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = fms_server::Settings::from_env()?;
//! let store = fms_server::open_store(&settings.database_url).await?;
//! let listener = tokio::net::TcpListener::bind(&settings.listen).await?;
//! let running = fms_server::start(&settings, store, listener).await?;
//! println!("listening on {}", running.addr);
//! // ... until a shutdown signal:
//! running.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Layout: one module per concern (`auth`, `body`, `error`, `dto`, `metrics`, `openapi`,
//! `store`, `config`) and one module per area of endpoints under `routes/`.

mod auth;
mod body;
mod config;
mod dto;
mod error;
mod metrics;
mod openapi;
mod routes;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use fms::Fms;
use fms::clock::{Clock, SystemClock};
use fms::dispatch::{Dispatcher, OnboardingDispatcher};
use fms::http::{ReqwestSender, Runtime, RuntimeEvent, RuntimeSettings, SenderConfig};
use fms::onboarding::OnboardingSettings;
use fms::store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};

pub use config::{ConfigError, HELP, Settings};
pub use store::{open_postgres, open_store};

/// Request bodies larger than this get 413.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;
/// A request still unanswered after this gets 408.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct AppState {
    /// The library.
    pub(crate) fms: Fms,
    /// SHA-256 (hex) of the operator token.
    pub(crate) admin_token_hash: String,
    /// FMS_ALLOW_INSECURE_WEBHOOKS.
    pub(crate) allow_insecure: bool,
    /// For the cron-style endpoint.
    pub(crate) dispatcher: Dispatcher,
    /// For the cron-style endpoint: the onboarding queue.
    pub(crate) onboarding: OnboardingDispatcher,
    /// Counters for `/metrics`.
    pub(crate) metrics: Arc<metrics::Metrics>,
}

/// The handlers' state.
pub(crate) type Shared = Arc<AppState>;

/// The router with its layers: trace, JSON errors for framework answers, timeout, body limit.
pub(crate) fn router(state: Shared) -> Router {
    routes::router()
        .fallback(error::unknown_path)
        .method_not_allowed_fallback(|| async {
            error::ApiError::from_status(StatusCode::METHOD_NOT_ALLOWED)
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .with_state(state)
}

/// A server that failed to start: the reason, for humans.
#[derive(Debug)]
pub struct StartError(String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// A started server. Stop it with [`Running::shutdown`]; dropping it only tells the HTTP
/// server to stop accepting connections, without waiting for anything.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The operator token when it was generated at start (print it once); `None` when it
    /// came from the settings.
    pub generated_admin_token: Option<String>,
    state: Shared,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    runtime: Option<Runtime>,
}

/// Starts serving on `listener` with `store`: when `settings.dispatcher` is on, the library's
/// delivery [`Runtime`] (ticket webhooks, onboarding requests, the SLA sweeper, wake-ups on
/// every commit and, on Postgres, on other servers' commits) with the metrics as its
/// observer; then the HTTP server.
/// Fails when the settings cannot be used (see [`Settings::check_onboarding`]), the webhook
/// sender cannot be built, or the runtime cannot start (on Postgres: LISTEN).
pub async fn start(
    settings: &Settings,
    store: Arc<dyn Store>,
    listener: TcpListener,
) -> Result<Running, StartError> {
    settings
        .check_onboarding()
        .map_err(|e| StartError(e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError(format!("cannot read the bound address: {e}")))?;
    let sender = ReqwestSender::new(
        SenderConfig::default().with_allow_insecure(settings.allow_insecure_webhooks),
    )
    .map_err(|e| StartError(format!("cannot build the webhook sender: {e}")))?;
    let clock: Arc<dyn Clock> = settings
        .clock
        .clone()
        .unwrap_or_else(|| Arc::new(SystemClock));
    let ttl = chrono::Duration::from_std(settings.onboarding_ttl)
        .map_err(|e| StartError(format!("{}: {e}", config::ENV_ONBOARDING_TTL)))?;
    let fms = Fms::new(store)
        .with_clock(clock)
        .with_onboarding(OnboardingSettings {
            ttl,
            bot_username: settings.telegram_bot.clone(),
        });
    let metrics = Arc::new(metrics::Metrics::default());
    let observed = Arc::clone(&metrics);
    let mut runtime_settings = RuntimeSettings::default()
        .with_delivery(settings.delivery.clone())
        .with_poll_interval(settings.poll_interval);
    if let Some(url) = &settings.onboarding_webhook_url {
        runtime_settings =
            runtime_settings.with_onboarding_endpoint(url, settings.onboarding_secret.clone());
    }
    let builder = Runtime::builder(fms.clone(), Arc::new(sender))
        .with_settings(runtime_settings)
        .with_observer(Arc::new(move |event| match event {
            RuntimeEvent::Tickets(result) => observed.batch(result),
            RuntimeEvent::Onboarding(result) => observed.onboarding_batch(result),
            _ => {}
        }));
    // The cron endpoint's dispatchers share the runtime's stop flag when it runs.
    let (fms, dispatcher, onboarding, runtime) = if settings.dispatcher {
        let runtime = builder
            .start()
            .await
            .map_err(|e| StartError(e.to_string()))?;
        let fms = runtime.fms().clone();
        let dispatcher = runtime.dispatcher().clone();
        let onboarding = runtime.onboarding_dispatcher().clone();
        (fms, dispatcher, onboarding, Some(runtime))
    } else {
        (
            fms,
            builder.dispatcher(),
            builder.onboarding_dispatcher(),
            None,
        )
    };

    let (generated_admin_token, admin_token) = match &settings.admin_token {
        Some(t) => (None, t.clone()),
        None => {
            let t = auth::generate_token("fmsadm_");
            (Some(t.clone()), t)
        }
    };
    let state = Arc::new(AppState {
        fms,
        admin_token_hash: auth::hash_token(&admin_token),
        allow_insecure: settings.allow_insecure_webhooks,
        dispatcher,
        onboarding,
        metrics,
    });
    let app = router(Arc::clone(&state));
    let (stop, mut stopped) = watch::channel(false);
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
    });
    Ok(Running {
        addr,
        generated_admin_token,
        state,
        stop,
        server,
        runtime,
    })
}

impl Running {
    /// The library this server serves (the same [`Fms`] the handlers use).
    pub fn fms(&self) -> &Fms {
        &self.state.fms
    }

    /// Stops gracefully: no new connections, in-flight requests finish, then the dispatchers
    /// finish their batches and release unsent claims.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        match self.server.await {
            Ok(Err(e)) => tracing::error!(error = %e, "server stopped with an error"),
            Err(e) => tracing::error!(error = %e, "server task failed"),
            Ok(Ok(())) => {}
        }
        if let Some(runtime) = self.runtime {
            runtime.shutdown().await;
        }
    }
}
