//! fms-server: the fms library behind HTTP, so that a Make scenario (or curl) uses it exactly
//! as the spec's Supabase functions, changing only its base URL. The OpenAPI document, the
//! contract, is served at `/openapi.json`.
//!
//! ```sh
//! cargo run --release -p fms-server                       # SQLite fms.db, 127.0.0.1:8080
//! cargo run --release -p fms-server -- --help             # the settings
//! cargo run --release -p fms-server --features postgres   # to serve DATABASE_URL=postgres://...
//! ```

use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

use fms_server::{HELP, Settings};

fn main() -> ExitCode {
    if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    init_logs();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fms-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "fms-server failed");
            eprintln!("fms-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logs() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info"));
    let json = std::env::var("FMS_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env()?;
    let store = fms_server::open_store(&settings.database_url).await?;
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let running = fms_server::start(&settings, store, listener).await?;
    if let Some(token) = &running.generated_admin_token {
        // Printed once, on stdout, so it can be captured; kept in memory only.
        println!("FMS_ADMIN_TOKEN={token}");
        println!("(generated for this process: set FMS_ADMIN_TOKEN to keep one across restarts)");
    }
    tracing::info!(
        addr = %running.addr,
        database = %redact(&settings.database_url),
        dispatcher = settings.dispatcher,
        insecure_webhooks = settings.allow_insecure_webhooks,
        onboarding_webhook = settings.onboarding_webhook_url.is_some(),
        onboarding_signed = settings.onboarding_secret.is_some(),
        telegram_bot = settings.telegram_bot.as_deref().unwrap_or("none"),
        "fms-server listening"
    );
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// The database URL without a password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
