//! A fixed corpus of hostile request bodies against the server (wrong types, nulls,
//! arrays, deep nesting, huge strings, invalid UTF-8, SQL-looking text, ...): every one gets
//! a 4xx JSON error, never a 5xx or a dropped connection, and the server keeps serving.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod server_support;

use serde_json::{Value, json};
use server_support::{ADMIN, Server, TestTenant, spec_body};

/// `spec_body` with `field` set to `value`.
fn with(t: &TestTenant, field: &str, value: Value) -> Vec<u8> {
    let mut b = spec_body(t);
    b[field] = value;
    b.to_string().into_bytes()
}

fn corpus(t: &TestTenant) -> Vec<(&'static str, Vec<u8>)> {
    let nested_arrays = "[".repeat(60_000).into_bytes();
    let nested_objects = {
        let mut s = String::new();
        for _ in 0..5_000 {
            s.push_str("{\"a\":");
        }
        s.push('1');
        s.push_str(&"}".repeat(5_000));
        s.into_bytes()
    };
    let mut invalid_utf8 = spec_body(t).to_string().into_bytes();
    let at = invalid_utf8.len() - 2;
    invalid_utf8.splice(at..at, b",\"issue\":\"\xff\xfe\xc3\x28\"".iter().copied());
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend(spec_body(t).to_string().into_bytes());
    vec![
        ("empty body", Vec::new()),
        ("whitespace body", b"  \n\t ".to_vec()),
        ("null", b"null".to_vec()),
        ("true", b"true".to_vec()),
        ("number", b"12345".to_vec()),
        ("string", b"\"issue\"".to_vec()),
        (
            "array of the body",
            format!("[{}]", spec_body(t)).into_bytes(),
        ),
        ("empty object", b"{}".to_vec()),
        ("truncated", b"{\"issue\": \"AC".to_vec()),
        (
            "trailing garbage",
            format!("{} x", spec_body(t)).into_bytes(),
        ),
        ("single quotes", b"{'issue': 'AC'}".to_vec()),
        ("nested arrays 60k deep", nested_arrays),
        ("nested objects 5k deep", nested_objects),
        ("invalid utf-8", invalid_utf8),
        ("byte order mark", bom),
        (
            "lone surrogate",
            format!("{{\"issue\":\"\\ud800\",\"tenant_id\":\"{}\"}}", t.id).into_bytes(),
        ),
        (
            "number out of range",
            format!(
                "{{\"issue\":\"a\",\"floor\":1e400,\"tenant_id\":\"{}\"}}",
                t.id
            )
            .into_bytes(),
        ),
        ("issue null", with(t, "issue", Value::Null)),
        ("issue number", with(t, "issue", json!(42))),
        ("issue array", with(t, "issue", json!(["AC"]))),
        ("issue object", with(t, "issue", json!({"text": "AC"}))),
        ("issue bool", with(t, "issue", json!(true))),
        (
            "issue 60k chars",
            with(t, "issue", json!("A".repeat(60_000))),
        ),
        ("issue NUL", with(t, "issue", json!("AC\u{0}broken"))),
        (
            "location 501 chars",
            with(t, "location", json!("L".repeat(501))),
        ),
        ("priority urgent", with(t, "priority", json!("urgent"))),
        ("priority array", with(t, "priority", json!(["high"]))),
        ("priority number", with(t, "priority", json!(1))),
        ("chat_id float", with(t, "chat_id", json!(1.5))),
        ("chat_id object", with(t, "chat_id", json!({"id": 1}))),
        ("chat_id SQL", with(t, "chat_id", json!("1' OR '1'='1"))),
        (
            "chat_id SQL comment",
            with(t, "chat_id", json!("123456789'; --")),
        ),
        (
            "chat_id 10k chars",
            with(t, "chat_id", json!("9".repeat(10_000))),
        ),
        (
            "tenant_id SQL",
            with(t, "tenant_id", json!("'; DROP TABLE tickets; --")),
        ),
        ("tenant_id number", with(t, "tenant_id", json!(7))),
        (
            "tenant_id nil uuid",
            with(
                t,
                "tenant_id",
                json!("00000000-0000-0000-0000-000000000000"),
            ),
        ),
        ("name array", with(t, "name", json!([]))),
        ("category null", with(t, "category", Value::Null)),
        ("type number", with(t, "type", json!(3))),
        ("building object", with(t, "building", json!({}))),
        ("floor float", with(t, "floor", json!(3.5))),
        ("message_id object", with(t, "message_id", json!({"id": 1}))),
        (
            "message_id 1k chars",
            with(t, "message_id", json!("m".repeat(1_000))),
        ),
        (
            "description 5k chars",
            with(t, "description", json!("d".repeat(5_000))),
        ),
        (
            "over 64 KiB",
            with(t, "description", json!("d".repeat(70_000))),
        ),
    ]
}

#[tokio::test]
async fn hostile_intake_bodies_get_4xx_json_and_the_server_keeps_serving() {
    let s = Server::start().await;
    let t = s.tenant_with_complainant(None).await;
    let cases = corpus(&t);
    assert!(cases.len() >= 30);
    for (name, body) in cases {
        let a = s
            .send(
                "POST",
                "/functions/v1/telegram-webhook",
                Some(&t.key),
                Some(body),
                &[],
            )
            .await;
        assert!((400..500).contains(&a.status), "{name}: {a:?}");
        assert!(
            a.content_type.starts_with("application/json"),
            "{name}: {a:?}"
        );
        assert_eq!(a.body["success"], json!(false), "{name}: {a:?}");
        assert!(a.body["error"]["code"].is_string(), "{name}: {a:?}");
    }
    // Nothing was created, and the server still serves.
    let list = s.get("/api/v1/tickets", Some(&t.key)).await;
    assert_eq!(list.body["items"], json!([]), "{list:?}");
    let ok = s
        .post(
            "/functions/v1/telegram-webhook",
            Some(&t.key),
            &spec_body(&t),
        )
        .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    s.stop().await;
}

#[tokio::test]
async fn hostile_management_bodies_get_4xx_json() {
    let s = Server::start().await;
    let t = s.tenant_with_complainant(None).await;
    let ticket = s
        .post(
            "/functions/v1/telegram-webhook",
            Some(&t.key),
            &spec_body(&t),
        )
        .await;
    let id = ticket.body["ticket_id"].as_str().unwrap().to_owned();
    let cases: Vec<(&str, String, &str, Value)> = vec![
        (
            "tenant name null",
            "/api/v1/tenants".into(),
            ADMIN,
            json!({"name": null}),
        ),
        (
            "tenant name array",
            "/api/v1/tenants".into(),
            ADMIN,
            json!({"name": ["a"]}),
        ),
        (
            "tenant url file",
            "/api/v1/tenants".into(),
            ADMIN,
            json!({"name": "x", "automation_webhook_url": "file:///etc/passwd"}),
        ),
        (
            "tenant tz SQL",
            "/api/v1/tenants".into(),
            ADMIN,
            json!({"name": "x", "timezone": "UTC'; --"}),
        ),
        (
            "user role object",
            format!("/api/v1/tenants/{}/users", t.id),
            &t.key,
            json!({"name": "x", "role": {}}),
        ),
        (
            "user skills string",
            format!("/api/v1/tenants/{}/users", t.id),
            &t.key,
            json!({"name": "x", "role": "executor", "skills": "HVAC"}),
        ),
        (
            "user active string",
            format!("/api/v1/tenants/{}/users", t.id),
            &t.key,
            json!({"name": "x", "role": "executor", "active": "yes"}),
        ),
        (
            "activity metadata array",
            format!("/api/v1/tickets/{id}/activities"),
            &t.key,
            json!({"type": "comment", "metadata": [1], "created_by": "00000000-0000-0000-0000-000000000000"}),
        ),
        (
            "activity created_by SQL",
            format!("/api/v1/tickets/{id}/activities"),
            &t.key,
            json!({"type": "comment", "created_by": "1 OR 1=1"}),
        ),
        (
            "status number",
            format!("/api/v1/tickets/{id}/status"),
            &t.key,
            json!({"status": 1, "changed_by": "x"}),
        ),
        (
            "assign unknown executor",
            format!("/api/v1/tickets/{id}/assign"),
            &t.key,
            json!({"executor_id": "00000000-0000-0000-0000-000000000000"}),
        ),
        (
            "rules unknown field",
            format!("/api/v1/tenants/{}/rules", t.id),
            &t.key,
            json!({"version": 1, "rulez": []}),
        ),
    ];
    for (name, path, token, body) in cases {
        let method = if name.starts_with("rules") {
            "PUT"
        } else {
            "POST"
        };
        let a = s
            .send(
                method,
                &path,
                Some(token),
                Some(body.to_string().into_bytes()),
                &[],
            )
            .await;
        assert!((400..500).contains(&a.status), "{name}: {a:?}");
        assert_eq!(a.body["success"], json!(false), "{name}: {a:?}");
    }
    assert_eq!(s.get("/healthz", None).await.status, 200);
    s.stop().await;
}
