//! End-to-end intake throughput of the server: requests per second at concurrency 16
//! from a separate process over loopback, against a minimal axum handler that only parses the
//! same JSON and answers 200 (the HTTP ceiling on this machine), in the same run. Prints both
//! rates, their ratio, and each server's peak memory (VmHWM).
//!
//! `cargo bench -p fms-server --bench server`. The servers are this binary re-executed as a child process
//! (`FMS_BENCH_CHILD=fms|fms-memory|minimal`); the parent is the load generator. Bounded
//! (3 × 4 s: fms on a SQLite file, fms on in-memory SQLite, the minimal handler).
//! `FMS_BENCH_SECS` changes the measured seconds per server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const CONCURRENCY: usize = 16;
const ADMIN: &str = "bench-operator-token";
const INTAKE: &str = "/functions/v1/telegram-webhook";

fn main() {
    match std::env::var("FMS_BENCH_CHILD").as_deref() {
        Ok("fms") => return child(serve_fms(false)),
        Ok("fms-memory") => return child(serve_fms(true)),
        Ok("minimal") => return child(serve_minimal()),
        _ => {}
    }
    let secs: u64 = std::env::var("FMS_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (fms_rate, fms_hwm, fms_errors) = measure("fms", secs).await;
        let (mem_rate, mem_hwm, mem_errors) = measure("fms-memory", secs).await;
        let (min_rate, min_hwm, min_errors) = measure("minimal", secs).await;
        println!("fms-server intake, concurrency {CONCURRENCY}, {secs} s each, loopback, separate processes");
        println!(
            "  fms-server (SQLite file, dispatcher on): {fms_rate:>9.0} req/s  errors {fms_errors}  peak RSS (VmHWM) {fms_hwm}"
        );
        println!(
            "  fms-server (SQLite in memory):           {mem_rate:>9.0} req/s  errors {mem_errors}  peak RSS (VmHWM) {mem_hwm}"
        );
        println!(
            "  minimal axum (parse JSON, answer 200):   {min_rate:>9.0} req/s  errors {min_errors}  peak RSS (VmHWM) {min_hwm}"
        );
        println!(
            "  ratio fms / minimal: {:.3} ({:.1} % of the HTTP ceiling)",
            fms_rate / min_rate,
            100.0 * fms_rate / min_rate
        );
    });
}

/// Runs one server as a child process, loads it, returns (req/s, VmHWM, errors).
async fn measure(kind: &str, secs: u64) -> (f64, String, u64) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .env("FMS_BENCH_CHILD", kind)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the server process");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().expect("a READY line").unwrap();
    let addr = ready
        .strip_prefix("READY ")
        .expect("READY <addr>")
        .to_owned();
    let base = format!("http://{addr}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let (key, body) = if kind.starts_with("fms") {
        setup(&client, &base).await
    } else {
        (
            "none".to_owned(),
            spec(&uuid::Uuid::new_v4().to_string()).to_string(),
        )
    };
    // Warm up, then measure.
    drive(&client, &base, &key, &body, Duration::from_millis(500)).await;
    let (ok, errors, elapsed) = drive(&client, &base, &key, &body, Duration::from_secs(secs)).await;
    let hwm = vm_hwm(&child);
    stop(child);
    (ok as f64 / elapsed.as_secs_f64(), hwm, errors)
}

/// A tenant with the spec's complainant and an HVAC executor; returns the key and the body.
async fn setup(client: &reqwest::Client, base: &str) -> (String, String) {
    let post = |path: String, token: String, body: Value| {
        let req = client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string());
        async move {
            let resp = req.send().await.unwrap();
            assert!(resp.status().is_success(), "{}", resp.status());
            serde_json::from_slice::<Value>(&resp.bytes().await.unwrap()).unwrap()
        }
    };
    let tenant = post(
        "/api/v1/tenants".into(),
        ADMIN.into(),
        json!({"name": "ACME"}),
    )
    .await;
    let id = tenant["tenant_id"].as_str().unwrap().to_owned();
    let key = tenant["api_key"].as_str().unwrap().to_owned();
    for user in [
        json!({"name": "John Doe", "role": "complainant", "telegram_chat_id": "123456789"}),
        json!({"name": "Mike Johnson", "role": "executor", "skills": ["HVAC"], "telegram_chat_id": "555"}),
    ] {
        post(format!("/api/v1/tenants/{id}/users"), key.clone(), user).await;
    }
    (key, spec(&id).to_string())
}

fn spec(tenant: &str) -> Value {
    json!({
        "issue": "AC not working in Building A", "location": "Building A, Floor 3",
        "category": "HVAC", "priority": "high", "name": "John Doe",
        "chat_id": "123456789", "tenant_id": tenant
    })
}

/// `CONCURRENCY` workers posting intakes back to back for `span`.
async fn drive(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    body: &str,
    span: Duration,
) -> (u64, u64, Duration) {
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (client, url) = (client.clone(), format!("{base}{INTAKE}"));
            let (key, body) = (key.to_owned(), body.to_owned());
            let (ok, errors, done) = (Arc::clone(&ok), Arc::clone(&errors), Arc::clone(&done));
            tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    let sent = client
                        .post(&url)
                        .bearer_auth(&key)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(span).await;
    done.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    (
        ok.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        start.elapsed(),
    )
}

fn vm_hwm(child: &Child) -> String {
    std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "n/a".to_owned())
}

/// Closes the child's stdin (its signal to stop) and waits for it.
fn stop(mut child: Child) {
    drop(child.stdin.take());
    let _ = child.wait();
}

/// Child side: runs `server` until the parent closes stdin.
fn child(server: impl std::future::Future<Output = std::net::SocketAddr> + Send + 'static) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let addr = server.await;
        println!("READY {addr}");
        // Wait for stdin to close.
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin()
                .read_line(&mut sink)
                .map(|n| n > 0)
                .unwrap_or(false)
            {}
        })
        .await
        .unwrap();
    });
}

async fn serve_fms(in_memory: bool) -> std::net::SocketAddr {
    let dir = std::env::temp_dir().join(format!("fms-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = if in_memory {
        "sqlite::memory:".to_owned()
    } else {
        format!("sqlite://{}", dir.join("fms.db").display())
    };
    let settings = fms_server::Settings {
        admin_token: Some(ADMIN.to_owned()),
        database_url: url.clone(),
        ..fms_server::Settings::default()
    };
    let store = fms_server::open_store(&url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = fms_server::start(&settings, store, listener).await.unwrap();
    let addr = running.addr;
    std::mem::forget(running); // serves until the process exits
    addr
}

async fn serve_minimal() -> std::net::SocketAddr {
    async fn handler(body: axum::body::Bytes) -> axum::response::Response {
        use axum::response::IntoResponse;
        match serde_json::from_slice::<Value>(&body) {
            Ok(_) => axum::Json(json!({"success": true})).into_response(),
            Err(_) => axum::http::StatusCode::BAD_REQUEST.into_response(),
        }
    }
    let app = axum::Router::new().route(INTAKE, axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}
