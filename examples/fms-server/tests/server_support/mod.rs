//! Shared harness of the fms-server end-to-end tests: the server (this package's library)
//! started on an ephemeral 127.0.0.1 port, a real HTTP client, and a webhook receiver on
//! loopback.
//!
//! The store: SQLite in memory, fresh per test; with the `postgres` feature and
//! `FMS_TEST_POSTGRES_URL` set, a fresh schema of that database per test.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use fms_test_receiver::{Received, Receiver, Reply};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The operator token every test server uses.
pub const ADMIN: &str = "test-operator-token";

/// The store of one test: a fresh in-memory SQLite database, or, with the `postgres` feature
/// and `FMS_TEST_POSTGRES_URL` set, a fresh migrated schema of that database (dropped again by
/// [`Server::stop`]).
async fn store() -> (std::sync::Arc<dyn fms::store::Store>, Option<String>) {
    #[cfg(feature = "postgres")]
    if let Ok(url) = std::env::var("FMS_TEST_POSTGRES_URL") {
        use fms::postgres::sqlx::{self, AssertSqlSafe, PgPool};
        let name = format!("fms_srvtest_{}", uuid::Uuid::new_v4().simple());
        let admin = PgPool::connect(&url).await.expect("postgres");
        sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&admin)
            .await
            .expect("create schema");
        admin.close().await;
        let store = fms_server::open_postgres(&url, Some(&name))
            .await
            .expect("postgres store");
        return (store, Some(name));
    }
    let store = fms_server::open_store("sqlite::memory:")
        .await
        .expect("in-memory store");
    (store, None)
}

#[cfg(feature = "postgres")]
async fn drop_schema(name: &str) {
    use fms::postgres::sqlx::{self, AssertSqlSafe, PgPool};
    let Ok(url) = std::env::var("FMS_TEST_POSTGRES_URL") else {
        return;
    };
    if let Ok(admin) = PgPool::connect(&url).await {
        let _ = sqlx::query(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE"
        )))
        .execute(&admin)
        .await;
        admin.close().await;
    }
}

#[cfg(not(feature = "postgres"))]
async fn drop_schema(_name: &str) {}

/// A running server and a client for it.
pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    pub running: Option<fms_server::Running>,
    schema: Option<String>,
}

/// An answer: status and JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub content_type: String,
}

impl Answer {
    /// Asserts an error answer: status, code, and (when given) field.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str, field: Option<&str>) {
        assert_eq!(self.status, status, "{self:?}");
        assert!(
            self.content_type.starts_with("application/json"),
            "{self:?}"
        );
        assert_eq!(self.body["success"], json!(false), "{self:?}");
        assert_eq!(self.body["error"]["code"], json!(code), "{self:?}");
        assert!(self.body["error"]["message"].is_string(), "{self:?}");
        if let Some(f) = field {
            assert_eq!(self.body["error"]["field"], json!(f), "{self:?}");
        }
    }
}

/// A tenant made through the API.
#[derive(Debug, Clone)]
pub struct TestTenant {
    pub id: String,
    pub key: String,
    pub secret: String,
}

impl Server {
    /// Starts a server with the dispatcher on, insecure webhooks allowed (the receiver is on
    /// loopback) and fast retries.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server with changed settings.
    pub async fn start_with(change: impl FnOnce(&mut fms_server::Settings)) -> Self {
        let (store, schema) = store().await;
        Self::start_on(store, schema, change).await
    }

    /// On Postgres, another server (another "process") on this server's schema, with changed
    /// settings; `None` on SQLite, whose in-memory databases are private to one store. It
    /// leaves the schema to this server's [`Server::stop`].
    pub async fn another_on_same_database(
        &self,
        change: impl FnOnce(&mut fms_server::Settings),
    ) -> Option<Self> {
        #[cfg(feature = "postgres")]
        if let (Some(schema), Ok(url)) = (&self.schema, std::env::var("FMS_TEST_POSTGRES_URL")) {
            let store = fms_server::open_postgres(&url, Some(schema))
                .await
                .expect("postgres store");
            return Some(Self::start_on(store, None, change).await);
        }
        let _ = change;
        None
    }

    async fn start_on(
        store: std::sync::Arc<dyn fms::store::Store>,
        schema: Option<String>,
        change: impl FnOnce(&mut fms_server::Settings),
    ) -> Self {
        let mut settings = fms_server::Settings {
            admin_token: Some(ADMIN.to_owned()),
            allow_insecure_webhooks: true,
            ..fms_server::Settings::default()
        };
        settings.delivery = settings
            .delivery
            .with_min_backoff(Duration::from_millis(50))
            .with_max_backoff(Duration::from_millis(500))
            .with_timeout(Duration::from_secs(5));
        settings.poll_interval = Duration::from_millis(50);
        change(&mut settings);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let running = fms_server::start(&settings, store, listener)
            .await
            .expect("server starts");
        let base = format!("http://{}", running.addr);
        Self {
            base,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
            running: Some(running),
            schema,
        }
    }

    /// Any request with raw bytes.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req.send().await.expect("the server answers");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = resp.bytes().await.expect("a whole body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            content_type,
        }
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        self.send(
            "POST",
            path,
            token,
            Some(body.to_string().into_bytes()),
            &[],
        )
        .await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        self.send(
            "PATCH",
            path,
            token,
            Some(body.to_string().into_bytes()),
            &[],
        )
        .await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        self.send("PUT", path, token, Some(body.to_string().into_bytes()), &[])
            .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.send("GET", path, token, None, &[]).await
    }

    /// The `/metrics` text (no token).
    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Creates a tenant through the API (operator).
    pub async fn tenant(&self, name: &str, webhook: Option<&str>) -> TestTenant {
        let mut body = json!({"name": name});
        if let Some(url) = webhook {
            body["automation_webhook_url"] = json!(url);
        }
        let a = self.post("/api/v1/tenants", Some(ADMIN), &body).await;
        assert_eq!(a.status, 201, "{a:?}");
        TestTenant {
            id: a.body["tenant_id"].as_str().expect("id").to_owned(),
            key: a.body["api_key"].as_str().expect("key").to_owned(),
            secret: a.body["webhook_secret"]
                .as_str()
                .expect("secret")
                .to_owned(),
        }
    }

    /// Creates a user through the API with the tenant's key; returns its id.
    pub async fn user(&self, tenant: &TestTenant, body: Value) -> String {
        let a = self
            .post(
                &format!("/api/v1/tenants/{}/users", tenant.id),
                Some(&tenant.key),
                &body,
            )
            .await;
        assert_eq!(a.status, 201, "{a:?}");
        a.body["id"].as_str().expect("id").to_owned()
    }

    /// A tenant with the spec's complainant John Doe (chat id 123456789).
    pub async fn tenant_with_complainant(&self, webhook: Option<&str>) -> TestTenant {
        let t = self.tenant("ACME Facilities", webhook).await;
        self.user(
            &t,
            json!({"name": "John Doe", "role": "complainant", "telegram_chat_id": "123456789",
                   "email": "john.doe@example.com", "phone": "+1-555-0100"}),
        )
        .await;
        t
    }

    /// Stops the server gracefully.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        if let Some(schema) = self.schema.take() {
            drop_schema(&schema).await;
        }
    }
}

/// The spec's curl example body for `tenant`.
pub fn spec_body(tenant: &TestTenant) -> Value {
    json!({
        "issue": "AC not working in Building A",
        "location": "Building A, Floor 3",
        "category": "HVAC",
        "priority": "high",
        "name": "John Doe",
        "designation": "Manager",
        "department": "IT",
        "chat_id": "123456789",
        "tenant_id": tenant.id,
        "type": "Maintenance",
        "building": "Building A",
        "floor": "3",
        "room": "301"
    })
}

/// A webhook receiver on loopback that answers every request 200 and records it (the shared
/// test receiver).
pub async fn receiver() -> Receiver {
    Receiver::start(Reply::default()).await.expect("receiver")
}

/// Waits until at least `n` webhooks arrived at `receiver` (at most 10 s).
pub async fn wait_for(receiver: &Receiver, n: usize) -> Vec<Received> {
    let got = receiver.wait_for(n, Duration::from_secs(10)).await;
    assert!(got.len() >= n, "expected {n} webhooks, got {}", got.len());
    got
}
