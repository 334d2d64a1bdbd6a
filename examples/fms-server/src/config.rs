//! The server's settings, read from the environment (`--help` prints them).

use std::sync::Arc;
use std::time::Duration;

use fms::clock::Clock;
use fms::delivery::DeliverySettings;

/// What `--help` prints.
pub const HELP: &str = "\
fms-server: the fms ticket library behind HTTP (the API: GET /openapi.json)

USAGE: fms-server [--help]
       from a checkout of fms: cargo run --release -p fms-server [--features postgres] [-- --help]

Settings, all optional, as environment variables:

  DATABASE_URL                            sqlite://fms.db   sqlite://PATH (relative), sqlite:///ABS/PATH,
                                                            sqlite::memory: or postgres://... (Postgres needs a
                                                            build with `-p fms-server --features postgres`)
  FMS_LISTEN                              127.0.0.1:8080    address to bind
  FMS_ADMIN_TOKEN                         generated         operator bearer token; when unset, one is generated
                                                            at start, printed once, and kept in memory only
                                                            (a restart prints a new one)
  FMS_ALLOW_INSECURE_WEBHOOKS             off               1 allows http:// and loopback/private webhook targets
                                                            (local development, tests)
  FMS_DISPATCHER                          on                off runs no background dispatcher (then only
                                                            POST /functions/v1/ticket-activity-webhook delivers)
  TICKET_ACTIVITY_WEBHOOK_BATCH           10                rows per claim
  TICKET_ACTIVITY_WEBHOOK_TIMEOUT_MS      10000             per-request timeout
  TICKET_ACTIVITY_WEBHOOK_MIN_BACKOFF_MS  5000              first retry delay
  TICKET_ACTIVITY_WEBHOOK_MAX_BACKOFF_MS  3600000           backoff cap
  TICKET_ACTIVITY_WEBHOOK_LEASE_MS        60000             how long a claimed row stays leased; must exceed the
                                                            timeout (default: raised to twice a longer timeout)
  TICKET_ACTIVITY_WEBHOOK_PARK_AFTER_MS   259200000         a row still failing this long after its first attempt
                                                            is parked (72 h)
  MAKE_USER_ONBOARDING_WEBHOOK_URL        none              where onboarding requests go (own queue, same retries
                                                            and signing as ticket webhooks); unset: the rows are
                                                            marked skipped
  FMS_TELEGRAM_BOT                        none              bot username: answers and payloads then carry the deep
                                                            link https://t.me/<bot>?start=<correlation_id>
  FMS_ONBOARDING_WEBHOOK_SECRET           none              whsec_... secret signing onboarding payloads (Standard
                                                            Webhooks); unset: unsigned
  FMS_ONBOARDING_TTL_SECS                 604800            lifetime of a correlation id, in seconds (7 days)
  RUST_LOG                                info              log filter (tracing-subscriber syntax)
  FMS_LOG_FORMAT                          text              json for one JSON object per log line
";

/// The environment variable names.
pub(crate) const ENV_DATABASE_URL: &str = "DATABASE_URL";
/// See [`HELP`].
pub(crate) const ENV_LISTEN: &str = "FMS_LISTEN";
/// See [`HELP`].
pub(crate) const ENV_ADMIN_TOKEN: &str = "FMS_ADMIN_TOKEN";
/// See [`HELP`].
pub(crate) const ENV_ALLOW_INSECURE: &str = "FMS_ALLOW_INSECURE_WEBHOOKS";
/// See [`HELP`].
pub(crate) const ENV_DISPATCHER: &str = "FMS_DISPATCHER";
/// See [`HELP`].
pub(crate) const ENV_ONBOARDING_URL: &str = "MAKE_USER_ONBOARDING_WEBHOOK_URL";
/// See [`HELP`].
pub(crate) const ENV_TELEGRAM_BOT: &str = "FMS_TELEGRAM_BOT";
/// See [`HELP`].
pub(crate) const ENV_ONBOARDING_SECRET: &str = "FMS_ONBOARDING_WEBHOOK_SECRET";
/// See [`HELP`].
pub(crate) const ENV_ONBOARDING_TTL: &str = "FMS_ONBOARDING_TTL_SECS";
/// [`DeliverySettings::batch`] (the spec's name). The webhook settings' names belong to the
/// server: the library takes a typed [`DeliverySettings`].
pub(crate) const ENV_BATCH: &str = "TICKET_ACTIVITY_WEBHOOK_BATCH";
/// [`DeliverySettings::timeout`], in milliseconds (the spec's name).
pub(crate) const ENV_TIMEOUT_MS: &str = "TICKET_ACTIVITY_WEBHOOK_TIMEOUT_MS";
/// [`DeliverySettings::max_backoff`], in milliseconds (the spec's name).
pub(crate) const ENV_MAX_BACKOFF_MS: &str = "TICKET_ACTIVITY_WEBHOOK_MAX_BACKOFF_MS";
/// [`DeliverySettings::min_backoff`], in milliseconds (fms addition).
pub(crate) const ENV_MIN_BACKOFF_MS: &str = "TICKET_ACTIVITY_WEBHOOK_MIN_BACKOFF_MS";
/// [`DeliverySettings::lease`], in milliseconds (fms addition).
pub(crate) const ENV_LEASE_MS: &str = "TICKET_ACTIVITY_WEBHOOK_LEASE_MS";
/// [`DeliverySettings::park_after`], in milliseconds (fms addition).
pub(crate) const ENV_PARK_AFTER_MS: &str = "TICKET_ACTIVITY_WEBHOOK_PARK_AFTER_MS";

/// The server's settings: [`Settings::from_env`] reads them as the binary does; tests and
/// embedders start from [`Settings::default`] and change fields.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `FMS_LISTEN`.
    pub listen: String,
    /// `FMS_ADMIN_TOKEN`; `None`: generate one.
    pub admin_token: Option<String>,
    /// `FMS_ALLOW_INSECURE_WEBHOOKS`.
    pub allow_insecure_webhooks: bool,
    /// `FMS_DISPATCHER`.
    pub dispatcher: bool,
    /// `TICKET_ACTIVITY_WEBHOOK_*`.
    pub delivery: DeliverySettings,
    /// How often the background dispatcher looks for due rows without a wake-up.
    pub poll_interval: Duration,
    /// `MAKE_USER_ONBOARDING_WEBHOOK_URL`.
    pub onboarding_webhook_url: Option<String>,
    /// `FMS_TELEGRAM_BOT` (without a leading `@`).
    pub telegram_bot: Option<String>,
    /// `FMS_ONBOARDING_WEBHOOK_SECRET`.
    pub onboarding_secret: Option<String>,
    /// `FMS_ONBOARDING_TTL_SECS`.
    pub onboarding_ttl: Duration,
    /// The clock of the library, the dispatchers and the SLA sweeper; `None`: the system
    /// clock. Not an environment setting: tests inject a `ManualClock`.
    pub clock: Option<Arc<dyn Clock>>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: "sqlite://fms.db".to_owned(),
            listen: "127.0.0.1:8080".to_owned(),
            admin_token: None,
            allow_insecure_webhooks: false,
            dispatcher: true,
            delivery: DeliverySettings::default(),
            poll_interval: Duration::from_secs(1),
            onboarding_webhook_url: None,
            telegram_bot: None,
            onboarding_secret: None,
            onboarding_ttl: Duration::from_secs(DEFAULT_ONBOARDING_TTL_SECS),
            clock: None,
        }
    }
}

/// `FMS_ONBOARDING_TTL_SECS` when unset: 7 days.
pub(crate) const DEFAULT_ONBOARDING_TTL_SECS: u64 = 7 * 24 * 60 * 60;

/// The longest correlation id lifetime accepted: 10 years.
pub(crate) const MAX_ONBOARDING_TTL_SECS: u64 = 10 * 365 * 24 * 60 * 60;

/// A setting that cannot be used, or a store that cannot be opened: the reason, naming the
/// setting (never repeating a secret's value).
#[derive(Debug)]
pub struct ConfigError(pub(crate) String);

impl std::error::Error for ConfigError {}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut s = Settings::default();
        if let Some(url) = get(ENV_DATABASE_URL) {
            s.database_url = url.trim().to_owned();
        }
        if let Some(listen) = get(ENV_LISTEN) {
            s.listen = listen.trim().to_owned();
        }
        s.admin_token = get(ENV_ADMIN_TOKEN).map(|t| t.trim().to_owned());
        if let Some(v) = get(ENV_ALLOW_INSECURE) {
            s.allow_insecure_webhooks = flag(ENV_ALLOW_INSECURE, &v)?;
        }
        if let Some(v) = get(ENV_DISPATCHER) {
            s.dispatcher = flag(ENV_DISPATCHER, &v)?;
        }
        let mut d = DeliverySettings::default();
        if let Some(v) = get(ENV_BATCH) {
            d = d.with_batch(number(ENV_BATCH, &v)?);
        }
        if let Some(v) = get(ENV_TIMEOUT_MS) {
            d = d.with_timeout(Duration::from_millis(number(ENV_TIMEOUT_MS, &v)?));
        }
        if let Some(v) = get(ENV_MIN_BACKOFF_MS) {
            d = d.with_min_backoff(Duration::from_millis(number(ENV_MIN_BACKOFF_MS, &v)?));
        }
        if let Some(v) = get(ENV_MAX_BACKOFF_MS) {
            d = d.with_max_backoff(Duration::from_millis(number(ENV_MAX_BACKOFF_MS, &v)?));
        }
        if let Some(v) = get(ENV_PARK_AFTER_MS) {
            d = d.with_park_after(Duration::from_millis(number(ENV_PARK_AFTER_MS, &v)?));
        }
        if let Some(v) = get(ENV_LEASE_MS) {
            // Set explicitly: `validate` refuses one that does not outlast the timeout.
            d = d.with_lease(Duration::from_millis(number(ENV_LEASE_MS, &v)?));
        } else if d.lease <= d.timeout {
            // The lease must outlast a request; keep it well above a raised timeout.
            let lease = d.timeout * 2;
            d = d.with_lease(lease);
        }
        d.validate().map_err(|e| ConfigError(e.to_string()))?;
        s.delivery = d;
        s.onboarding_webhook_url = get(ENV_ONBOARDING_URL).map(|v| v.trim().to_owned());
        s.telegram_bot = get(ENV_TELEGRAM_BOT).map(|v| v.trim().trim_start_matches('@').to_owned());
        s.onboarding_secret = get(ENV_ONBOARDING_SECRET).map(|v| v.trim().to_owned());
        if let Some(v) = get(ENV_ONBOARDING_TTL) {
            s.onboarding_ttl = Duration::from_secs(number(ENV_ONBOARDING_TTL, &v)?);
        }
        s.check_onboarding()?;
        Ok(s)
    }

    /// Checks the onboarding settings (also run by `start`, for settings built in code): an
    /// https URL (http and private targets only with insecure webhooks allowed), a bot
    /// username, a `whsec_` secret, a lifetime of at least one second.
    pub fn check_onboarding(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.onboarding_webhook_url {
            fms::http::check_url(url, self.allow_insecure_webhooks)
                .map_err(|e| ConfigError(format!("{ENV_ONBOARDING_URL}={url:?}: {e}")))?;
        }
        if let Some(bot) = &self.telegram_bot {
            let ok = (1..=64).contains(&bot.len())
                && bot.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !ok {
                return Err(ConfigError(format!(
                    "{ENV_TELEGRAM_BOT}={bot:?}: expected a bot username (letters, digits, _)"
                )));
            }
        }
        if let Some(secret) = &self.onboarding_secret {
            // The value is a secret: the message never repeats it.
            fms::secret::validate_secret_list(secret)
                .map_err(|e| ConfigError(format!("{ENV_ONBOARDING_SECRET}: {e}")))?;
        }
        if !(1..=MAX_ONBOARDING_TTL_SECS).contains(&self.onboarding_ttl.as_secs()) {
            return Err(ConfigError(format!(
                "{ENV_ONBOARDING_TTL}: expected a whole number of seconds from 1 to \
                 {MAX_ONBOARDING_TTL_SECS} (10 years)"
            )));
        }
        Ok(())
    }
}

fn flag(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "true" | "yes" => Ok(true),
        "0" | "off" | "false" | "no" => Ok(false),
        _ => Err(ConfigError(format!(
            "{name}={value:?}: expected 1/on/true/yes or 0/off/false/no"
        ))),
    }
}

fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| ConfigError(format!("{name}={value:?}: expected a whole number")))
}
