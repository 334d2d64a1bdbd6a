//! Opening the store named by `DATABASE_URL`.

use std::sync::Arc;

use fms::sqlite::SqliteStore;
use fms::store::Store;

use super::config::ConfigError;

/// Opens the store `url` names: `sqlite://PATH` (relative), `sqlite:///ABS/PATH`,
/// `sqlite:PATH`, `sqlite::memory:` (created and migrated when missing), or `postgres://...`
/// (connected, then migrated explicitly; needs the facade's `postgres` feature:
/// `cargo run --release -p fms-server --features postgres`).
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, ConfigError> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        return open_postgres(url, None).await;
    }
    let store = if lower == "sqlite::memory:" || lower == "sqlite://:memory:" {
        SqliteStore::in_memory()
    } else if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        // `sqlite:///abs` leaves `/abs`; `sqlite://rel` leaves `rel`. Query strings are not
        // options here.
        let path = path.split('?').next().unwrap_or(path);
        if path.is_empty() {
            return Err(ConfigError(format!("DATABASE_URL={url:?}: no file path")));
        }
        SqliteStore::open(path)
    } else {
        return Err(ConfigError(format!(
            "DATABASE_URL={url:?}: expected sqlite://PATH, sqlite:///ABS/PATH, sqlite::memory: \
             or postgres://..."
        )));
    };
    let store = store.map_err(|e| ConfigError(format!("cannot open the database {url:?}: {e}")))?;
    Ok(Arc::new(store))
}

/// Connects to Postgres (in `schema` when given) and applies the migrations.
#[cfg(feature = "postgres")]
pub async fn open_postgres(url: &str, schema: Option<&str>) -> Result<Arc<dyn Store>, ConfigError> {
    use fms::postgres::{PgStore, PgStoreOptions};
    let mut options = PgStoreOptions::default();
    if let Some(schema) = schema {
        options = options.with_schema(schema);
    }
    let store = PgStore::connect_with(url, options)
        .await
        .map_err(|e| ConfigError(format!("cannot connect to Postgres: {e}")))?;
    store
        .migrate()
        .await
        .map_err(|e| ConfigError(format!("cannot migrate the Postgres schema: {e}")))?;
    Ok(Arc::new(store))
}

/// Without the `postgres` feature: a clear start-up error.
#[cfg(not(feature = "postgres"))]
pub async fn open_postgres(
    _url: &str,
    _schema: Option<&str>,
) -> Result<Arc<dyn Store>, ConfigError> {
    Err(ConfigError(
        "DATABASE_URL names Postgres, but this build has no Postgres support: run with \
         `cargo run --release -p fms-server --features postgres`, or use sqlite://PATH"
            .to_owned(),
    ))
}
