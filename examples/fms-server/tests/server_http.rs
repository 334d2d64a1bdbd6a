//! End-to-end tests of the server (this package) over real HTTP: the server
//! on an ephemeral 127.0.0.1 port, a webhook receiver on loopback. Covers the spec's intake and
//! its errors, the documented auth and error bodies, idempotency, the complete flow with signed,
//! ordered webhooks, management endpoints and lists.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod server_support;

use serde_json::{Value, json};
use server_support::{ADMIN, Server, receiver, spec_body, wait_for};

const INTAKE: &str = "/functions/v1/telegram-webhook";

#[tokio::test]
async fn the_specs_curl_example_creates_a_ticket() {
    let s = Server::start().await;
    let t = s.tenant_with_complainant(None).await;
    // Section 5 of the spec, as printed (with a tenant key instead of the anon key).
    let body = json!({
        "issue": "Test issue",
        "location": "Test location",
        "category": "IT",
        "priority": "medium",
        "name": "Test User",
        "chat_id": "123456789",
        "tenant_id": t.id
    });
    let a = s
        .post("/functions/v1/telegram-webhook", Some(&t.key), &body)
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.body["success"], json!(true));
    assert_eq!(a.body["ticket_number"], json!("TKT-0001"));
    assert_eq!(a.body["duplicate"], json!(false));
    let id = a.body["ticket_id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());

    let got = s.get(&format!("/api/v1/tickets/{id}"), Some(&t.key)).await;
    assert_eq!(got.status, 200, "{got:?}");
    let ticket = &got.body;
    assert_eq!(ticket["ticket_number"], json!("TKT-0001"));
    assert_eq!(ticket["title"], json!("Test issue"));
    assert_eq!(ticket["description"], Value::Null);
    assert_eq!(ticket["type"], json!("Maintenance"));
    assert_eq!(ticket["status"], json!("open"));
    assert_eq!(ticket["priority"], json!("medium"));
    assert_eq!(ticket["complainant"]["chat_id"], json!("123456789"));
    assert_eq!(ticket["executor"], Value::Null);
    assert!(ticket["sla"]["resolution_due_at"].is_string());
    assert_eq!(ticket["activities"][0]["type"], json!("ticket_created"));
    assert_eq!(ticket["activities"][0]["created_by"], Value::Null);
    s.stop().await;
}

#[tokio::test]
async fn each_missing_required_field_is_a_400_naming_it() {
    let s = Server::start().await;
    let t = s.tenant_with_complainant(None).await;
    for field in [
        "issue",
        "location",
        "category",
        "priority",
        "name",
        "chat_id",
        "tenant_id",
    ] {
        for absent in [None, Some(Value::Null), Some(json!("")), Some(json!("   "))] {
            let mut body = spec_body(&t);
            match &absent {
                None => {
                    body.as_object_mut().unwrap().remove(field);
                }
                Some(v) => body[field] = v.clone(),
            }
            let a = s
                .post("/functions/v1/telegram-webhook", Some(&t.key), &body)
                .await;
            a.assert_error(400, "missing_field", Some(field));
        }
    }
    s.stop().await;
}

#[tokio::test]
async fn intake_errors_have_the_documented_status_and_body() {
    let s = Server::start().await;
    let t = s.tenant_with_complainant(None).await;
    let intake = "/functions/v1/telegram-webhook";

    let mut bad = spec_body(&t);
    bad["priority"] = json!("urgent");
    s.post(intake, Some(&t.key), &bad)
        .await
        .assert_error(400, "invalid_field", Some("priority"));

    let mut bad = spec_body(&t);
    bad["tenant_id"] = json!("not-a-uuid");
    s.post(intake, Some(&t.key), &bad)
        .await
        .assert_error(400, "invalid_field", Some("tenant_id"));

    let mut long = spec_body(&t);
    long["issue"] = json!("x".repeat(4001));
    s.post(intake, Some(&t.key), &long)
        .await
        .assert_error(400, "invalid_field", Some("issue"));

    s.send(
        "POST",
        intake,
        Some(&t.key),
        Some(b"{\"issue\": ".to_vec()),
        &[],
    )
    .await
    .assert_error(400, "invalid_json", None);

    let mut unknown = spec_body(&t);
    unknown["chat_id"] = json!("999");
    s.post(intake, Some(&t.key), &unknown).await.assert_error(
        404,
        "user_not_found",
        Some("chat_id"),
    );

    s.user(
        &t,
        json!({"name": "Gone Away", "role": "complainant", "telegram_chat_id": 42, "active": false}),
    )
    .await;
    let mut inactive = spec_body(&t);
    inactive["chat_id"] = json!(42);
    s.post(intake, Some(&t.key), &inactive)
        .await
        .assert_error(403, "user_inactive", None);

    // Missing and unknown keys.
    s.post(intake, None, &spec_body(&t))
        .await
        .assert_error(401, "unauthorized", None);
    s.post(intake, Some("fms_nope"), &spec_body(&t))
        .await
        .assert_error(401, "unauthorized", None);
    s.send(
        "POST",
        intake,
        None,
        Some(b"{}".to_vec()),
        &[("authorization", "Basic abc")],
    )
    .await
    .assert_error(401, "unauthorized", None);

    // A body naming another tenant.
    let other = s.tenant("Other", None).await;
    s.post(intake, Some(&t.key), &spec_body(&other))
        .await
        .assert_error(403, "forbidden", None);

    // Over 64 KiB, with and without a Content-Length.
    let mut big = spec_body(&t);
    big["description"] = json!("x".repeat(70_000));
    s.post(intake, Some(&t.key), &big)
        .await
        .assert_error(413, "payload_too_large", None);
    let (status, body) = chunked_post(&s, intake, &t.key, 20, 8192).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], json!("payload_too_large"));

    // A chat id given as a number, a priority with spaces and capitals: accepted.
    let mut ok = spec_body(&t);
    ok["chat_id"] = json!(123456789);
    ok["priority"] = json!("  HIGH ");
    let a = s.post(intake, Some(&t.key), &ok).await;
    assert_eq!(a.status, 200, "{a:?}");
    s.stop().await;
}

/// POSTs `chunks` chunks of `size` spaces with `Transfer-Encoding: chunked` (no
/// Content-Length) over a raw connection; returns the status and the JSON body.
async fn chunked_post(
    s: &Server,
    path: &str,
    key: &str,
    chunks: usize,
    size: usize,
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..chunks {
        let chunk = format!("{size:x}\r\n{}\r\n", " ".repeat(size));
        if conn.write_all(chunk.as_bytes()).await.is_err() {
            break; // the server may answer and close early
        }
    }
    let _ = conn.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    // The body may itself be chunked: take the JSON object in it.
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) => serde_json::from_str(&body[a..=b]).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, json)
}

#[tokio::test]
async fn framework_errors_are_json_too() {
    let s = Server::start().await;
    s.get("/no/such/path", None)
        .await
        .assert_error(404, "not_found", None);
    s.send("DELETE", "/healthz", None, None, &[])
        .await
        .assert_error(405, "method_not_allowed", None);
    s.send(
        "POST",
        "/api/v1/tenants",
        Some(ADMIN),
        Some(b"name=x".to_vec()),
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await
    .assert_error(400, "invalid_json", None);
    s.get("/api/v1/tickets/not-a-uuid", Some(ADMIN))
        .await
        .assert_error(400, "invalid_field", Some("ticket_id"));
    s.stop().await;
}

#[tokio::test]
async fn the_same_idempotency_key_twice_makes_one_ticket() {
    let s = Server::start().await;
    let t = s.tenant_with_complainant(None).await;
    let intake = "/functions/v1/telegram-webhook";
    let body = spec_body(&t).to_string().into_bytes();
    let key = [("idempotency-key", "telegram-update-77")];
    let first = s
        .send("POST", intake, Some(&t.key), Some(body.clone()), &key)
        .await;
    let second = s.send("POST", intake, Some(&t.key), Some(body), &key).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(second.status, 200, "{second:?}");
    assert_eq!(first.body["ticket_id"], second.body["ticket_id"]);
    assert_eq!(first.body["duplicate"], json!(false));
    assert_eq!(second.body["duplicate"], json!(true));

    // `message_id` in the body works the same, also concurrently.
    let mut with_id = spec_body(&t);
    with_id["message_id"] = json!(4242);
    let answers =
        futures::future::join_all((0..8).map(|_| s.post(intake, Some(&t.key), &with_id))).await;
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 200, "{a:?}");
            a.body["ticket_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1);

    let list = s.get("/api/v1/tickets", Some(&t.key)).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2, "{list:?}");
    s.stop().await;
}

#[tokio::test]
async fn the_specs_complete_flow_delivers_signed_ordered_webhooks() {
    let receiver = receiver().await;
    let s = Server::start().await;
    let t = s
        .tenant_with_complainant(Some(&receiver.url("/hook")))
        .await;
    let executor = s
        .user(
            &t,
            json!({"name": "Mike Johnson", "role": "executor", "skills": ["HVAC"],
                   "telegram_chat_id": 555000, "phone": "+1-555-0101"}),
        )
        .await;
    // A tenant rule: HVAC reported as high is critical, and goes to the HVAC pool.
    let rules = json!({
        "version": 1,
        "pools": {"hvac": {"skills": ["HVAC"], "chooser": "least_loaded"}},
        "default_allocation": {"pool": "hvac"},
        "rules": [{
            "id": "hvac-high-is-critical",
            "conditions": {"all": [{"category": "HVAC"}, {"priority": "high"}]},
            "actions": {"raise_priority_to": "critical", "assign": {"pool": "hvac"}}
        }]
    });
    let saved = s
        .put(
            &format!("/api/v1/tenants/{}/rules", t.id),
            Some(&t.key),
            &rules,
        )
        .await;
    assert_eq!(saved.status, 200, "{saved:?}");

    // The dry run shows the decision without storing anything.
    let mut probe = spec_body(&t);
    probe.as_object_mut().unwrap().remove("tenant_id");
    let dry = s
        .post(
            &format!("/api/v1/tenants/{}/rules/dry-run", t.id),
            Some(&t.key),
            &probe,
        )
        .await;
    assert_eq!(dry.status, 200, "{dry:?}");
    assert_eq!(dry.body["priority"], json!("critical"), "{dry:?}");

    // Step 3 of the spec's flow.
    let body = json!({
        "issue": "AC not working in Building A",
        "location": "Building A, Floor 3",
        "category": "HVAC",
        "priority": "high",
        "name": "John Doe",
        "chat_id": "123456789",
        "tenant_id": t.id
    });
    let a = s
        .post("/functions/v1/telegram-webhook", Some(&t.key), &body)
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let ticket_id = a.body["ticket_id"].as_str().unwrap().to_owned();
    let ticket = s
        .get(&format!("/api/v1/tickets/{ticket_id}"), Some(&t.key))
        .await
        .body;
    assert_eq!(ticket["status"], json!("in-progress"));
    assert_eq!(ticket["priority"], json!("critical"));
    assert_eq!(ticket["executor"]["name"], json!("Mike Johnson"));

    let got = wait_for(&receiver, 2).await;
    let assigned = got
        .iter()
        .map(|r| r.json().unwrap())
        .find(|p| p["latest_activity"]["type"] == json!("executor_assigned"))
        .expect("an executor_assigned webhook");
    assert_eq!(assigned["ticket_id"], json!(ticket_id));
    assert_eq!(assigned["status"], json!("in-progress"));
    assert_eq!(assigned["priority"], json!("critical"));
    assert_eq!(assigned["executor"]["id"], json!(executor));
    assert_eq!(assigned["executor"]["name"], json!("Mike Johnson"));
    assert!(
        assigned["sla"]["resolution_due_at"].is_string(),
        "{assigned}"
    );
    assert_eq!(assigned["complainant"]["chat_id"], json!("123456789"));

    // Then a comment and a status change, by the executor.
    let c = s
        .post(
            &format!("/api/v1/tickets/{ticket_id}/activities"),
            Some(&t.key),
            &json!({"type": "executor_update", "comment": "On site, compressor motor replaced.",
                    "metadata": {"photo_count": 2}, "created_by": executor}),
        )
        .await;
    assert_eq!(c.status, 201, "{c:?}");
    let st = s
        .post(
            &format!("/api/v1/tickets/{ticket_id}/status"),
            Some(&t.key),
            &json!({"status": "resolved", "changed_by": executor}),
        )
        .await;
    assert_eq!(st.status, 200, "{st:?}");
    assert_eq!(st.body["status"], json!("resolved"));

    let got = wait_for(&receiver, 4).await;
    let payloads: Vec<Value> = got.iter().map(|r| r.json().unwrap()).collect();
    let kinds: Vec<&str> = payloads
        .iter()
        .map(|p| p["latest_activity"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "ticket_created",
            "executor_assigned",
            "executor_update",
            "status_changed"
        ]
    );
    let sequences: Vec<i64> = payloads
        .iter()
        .map(|p| p["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(sequences, [1, 2, 3, 4]);
    assert_eq!(
        payloads[2]["latest_activity"]["created_by"]["name"],
        json!("Mike Johnson")
    );
    assert_eq!(payloads[3]["status"], json!("resolved"));
    // Every one signed with the tenant's secret (Standard Webhooks).
    for r in &got {
        let ts: i64 = r.header("webhook-timestamp").unwrap_or("").parse().unwrap();
        let expected =
            fms::http::sign(&t.secret, r.header("webhook-id").unwrap_or(""), ts, &r.body).unwrap();
        assert_eq!(r.header("webhook-signature"), Some(expected.as_str()));
    }

    // The queue shows them delivered (the receiver answers before the dispatcher records
    // the outcome, so wait briefly for the last completion); metrics count them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let q = s
            .get(
                &format!("/api/v1/tenants/{}/webhook-queue?state=delivered", t.id),
                Some(&t.key),
            )
            .await;
        let delivered = q.body["items"].as_array().unwrap().len();
        if delivered == 4 || std::time::Instant::now() > deadline {
            assert_eq!(delivered, 4, "{q:?}");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let metrics = s.get("/metrics", None).await;
    assert_eq!(metrics.status, 200);
    s.stop().await;
}

#[tokio::test]
async fn a_tenant_key_never_reaches_another_tenant() {
    let s = Server::start().await;
    let a = s.tenant_with_complainant(None).await;
    let b = s.tenant_with_complainant(None).await;
    let ticket = s
        .post(
            "/functions/v1/telegram-webhook",
            Some(&b.key),
            &spec_body(&b),
        )
        .await;
    let ticket_id = ticket.body["ticket_id"].as_str().unwrap();
    let b_user = s
        .user(
            &b,
            json!({"name": "Bea", "role": "executor", "skills": ["HVAC"]}),
        )
        .await;

    // Paths naming tenant B: 403.
    for path in [
        format!("/api/v1/tenants/{}", b.id),
        format!("/api/v1/tenants/{}/rules", b.id),
        format!("/api/v1/tenants/{}/webhook-queue", b.id),
        format!("/api/v1/tickets?tenant_id={}", b.id),
    ] {
        s.get(&path, Some(&a.key))
            .await
            .assert_error(403, "forbidden", None);
    }
    s.post(
        &format!("/api/v1/tenants/{}/users", b.id),
        Some(&a.key),
        &json!({"name": "X", "role": "complainant"}),
    )
    .await
    .assert_error(403, "forbidden", None);
    // Resources of tenant B found by their own id: as if they did not exist.
    s.get(&format!("/api/v1/tickets/{ticket_id}"), Some(&a.key))
        .await
        .assert_error(404, "not_found", None);
    s.get(&format!("/api/v1/users/{b_user}"), Some(&a.key))
        .await
        .assert_error(404, "not_found", None);
    s.post(
        &format!("/api/v1/tickets/{ticket_id}/status"),
        Some(&a.key),
        &json!({"status": "in-progress", "changed_by": b_user}),
    )
    .await
    .assert_error(404, "not_found", None);
    let rows = s
        .get(
            &format!("/api/v1/tenants/{}/webhook-queue", b.id),
            Some(ADMIN),
        )
        .await;
    let row = rows.body["items"][0]["id"].as_i64().unwrap();
    s.post(
        &format!("/api/v1/webhook-queue/{row}/skip"),
        Some(&a.key),
        &json!({}),
    )
    .await
    .assert_error(404, "not_found", None);
    // A's own list does not show B's ticket.
    let list = s.get("/api/v1/tickets", Some(&a.key)).await;
    assert_eq!(list.body["items"], json!([]));
    // Operator-only endpoints.
    s.post("/api/v1/tenants", Some(&a.key), &json!({"name": "Mine"}))
        .await
        .assert_error(403, "forbidden", None);
    s.post(
        "/functions/v1/ticket-activity-webhook",
        Some(&a.key),
        &json!({}),
    )
    .await
    .assert_error(403, "forbidden", None);
    // The operator may act on any tenant.
    let op = s
        .get(&format!("/api/v1/tickets/{ticket_id}"), Some(ADMIN))
        .await;
    assert_eq!(op.status, 200);
    s.stop().await;
}

#[tokio::test]
async fn management_endpoints_follow_the_contract() {
    let s = Server::start().await;
    let t = s.tenant_with_complainant(None).await;

    // Users: a chat id already used -> 409; unknown role -> 400; patch; read back.
    s.post(
        &format!("/api/v1/tenants/{}/users", t.id),
        Some(&t.key),
        &json!({"name": "Twin", "role": "complainant", "telegram_chat_id": "123456789"}),
    )
    .await
    .assert_error(409, "conflict", None);
    s.post(
        &format!("/api/v1/tenants/{}/users", t.id),
        Some(&t.key),
        &json!({"name": "X", "role": "boss"}),
    )
    .await
    .assert_error(400, "invalid_field", Some("role"));
    s.post(
        &format!("/api/v1/tenants/{}/users", t.id),
        Some(&t.key),
        &json!({"role": "executor"}),
    )
    .await
    .assert_error(400, "missing_field", Some("name"));
    let exec = s
        .user(
            &t,
            json!({"name": "Mike", "role": "executor", "skills": ["IT"]}),
        )
        .await;
    let patched = s
        .patch(
            &format!("/api/v1/users/{exec}"),
            Some(&t.key),
            &json!({"phone": "+1-555-0101", "skills": ["IT", "Electrical"]}),
        )
        .await;
    assert_eq!(patched.status, 200, "{patched:?}");
    assert_eq!(patched.body["skills"], json!(["IT", "Electrical"]));

    // Tenant settings: https only unless insecure (this server allows it); null clears.
    let set = s
        .patch(
            &format!("/api/v1/tenants/{}", t.id),
            Some(&t.key),
            &json!({"automation_webhook_url": "https://hook.eu1.make.com/abc", "timezone": "Europe/Berlin"}),
        )
        .await;
    assert_eq!(set.status, 200, "{set:?}");
    assert_eq!(set.body["timezone"], json!("Europe/Berlin"));
    let cleared = s
        .patch(
            &format!("/api/v1/tenants/{}", t.id),
            Some(&t.key),
            &json!({"automation_webhook_url": null}),
        )
        .await;
    assert_eq!(cleared.body["automation_webhook_url"], Value::Null);
    s.patch(
        &format!("/api/v1/tenants/{}", t.id),
        Some(&t.key),
        &json!({"timezone": "Mars/Olympus"}),
    )
    .await
    .assert_error(400, "invalid_field", Some("timezone"));

    // Tickets: the list pages newest first with an opaque cursor.
    for _ in 0..3 {
        let a = s
            .post(
                "/functions/v1/telegram-webhook",
                Some(&t.key),
                &spec_body(&t),
            )
            .await;
        assert_eq!(a.status, 200);
    }
    let page1 = s.get("/api/v1/tickets?limit=2", Some(&t.key)).await;
    let items = page1.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["ticket_number"], json!("TKT-0003"));
    let cursor = page1.body["next_cursor"].as_str().unwrap();
    let page2 = s
        .get(
            &format!("/api/v1/tickets?limit=2&cursor={cursor}"),
            Some(&t.key),
        )
        .await;
    assert_eq!(page2.body["items"][0]["ticket_number"], json!("TKT-0001"));
    assert_eq!(page2.body["next_cursor"], Value::Null);
    s.get("/api/v1/tickets?limit=500", Some(&t.key))
        .await
        .assert_error(400, "invalid_field", Some("limit"));
    s.get("/api/v1/tickets?status=done", Some(&t.key))
        .await
        .assert_error(400, "invalid_field", Some("status"));
    s.get("/api/v1/tickets", Some(ADMIN)).await.assert_error(
        400,
        "missing_field",
        Some("tenant_id"),
    );
    let open = s.get("/api/v1/tickets?status=open", Some(&t.key)).await;
    assert_eq!(open.body["items"].as_array().unwrap().len(), 3);

    // Status moves: the workflow decides.
    let id = items[0]["ticket_id"].as_str().unwrap();
    let status = format!("/api/v1/tickets/{id}/status");
    s.post(
        &status,
        Some(&t.key),
        &json!({"status": "closed", "changed_by": exec}),
    )
    .await
    .assert_error(409, "invalid_transition", Some("status"));
    s.post(
        &status,
        Some(&t.key),
        &json!({"status": "nope", "changed_by": exec}),
    )
    .await
    .assert_error(400, "invalid_field", Some("status"));
    s.post(&status, Some(&t.key), &json!({"status": "in-progress"}))
        .await
        .assert_error(400, "missing_field", Some("changed_by"));
    let moved = s
        .post(
            &status,
            Some(&t.key),
            &json!({"status": "in-progress", "changed_by": exec}),
        )
        .await;
    assert_eq!(moved.status, 200, "{moved:?}");
    s.post(
        &status,
        Some(&t.key),
        &json!({"status": "in-progress", "changed_by": exec}),
    )
    .await
    .assert_error(409, "invalid_transition", None);

    // Assignment and activities.
    let assigned = s
        .post(
            &format!("/api/v1/tickets/{id}/assign"),
            Some(&t.key),
            &json!({"executor_id": exec}),
        )
        .await;
    assert_eq!(assigned.status, 200, "{assigned:?}");
    assert_eq!(assigned.body["executor"]["name"], json!("Mike"));
    s.post(
        &format!("/api/v1/tickets/{id}/activities"),
        Some(&t.key),
        &json!({"type": "sla_breached", "created_by": exec}),
    )
    .await
    .assert_error(400, "invalid_field", Some("type"));
    let comment = s
        .post(
            &format!("/api/v1/tickets/{id}/activities"),
            Some(&t.key),
            &json!({"type": "comment", "comment": "hello", "created_by": exec}),
        )
        .await;
    assert_eq!(comment.status, 201, "{comment:?}");
    assert_eq!(comment.body["created_by"]["name"], json!("Mike"));

    // Queue rows: no webhook URL, so they end up skipped; replay puts one back.
    let q = format!("/api/v1/tenants/{}/webhook-queue?limit=2", t.id);
    let mut rows = s.get(&q, Some(&t.key)).await;
    for _ in 0..50 {
        if rows.body["items"][0]["state"] == json!("skipped") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        rows = s.get(&q, Some(&t.key)).await;
    }
    assert_eq!(rows.body["items"][0]["state"], json!("skipped"), "{rows:?}");
    let next = rows.body["next_cursor"].as_str().unwrap();
    let more = s.get(&format!("{q}&cursor={next}"), Some(&t.key)).await;
    assert_eq!(more.status, 200, "{more:?}");
    assert!(
        more.body["items"][0]["id"].as_i64() < rows.body["items"][1]["id"].as_i64(),
        "{more:?}"
    );
    let row = rows.body["items"][0]["id"].as_i64().unwrap();
    let replayed = s
        .post(
            &format!("/api/v1/webhook-queue/{row}/replay"),
            Some(&t.key),
            &json!({}),
        )
        .await;
    assert_eq!(replayed.status, 200, "{replayed:?}");
    s.post("/api/v1/webhook-queue/abc/replay", Some(&t.key), &json!({}))
        .await
        .assert_error(400, "invalid_field", Some("entry_id"));
    s.stop().await;
}

#[tokio::test]
async fn management_bodies_refuse_unknown_fields_by_name() {
    let s = Server::start().await;
    let t = s.tenant_with_complainant(None).await;
    let tenant = format!("/api/v1/tenants/{}", t.id);
    let before = s.get(&tenant, Some(&t.key)).await;
    assert_eq!(before.status, 200, "{before:?}");

    // Settings this server does not have were a silent 200 no-op; now they are errors.
    s.patch(
        &tenant,
        Some(&t.key),
        &json!({"webhook_events": ["ticket_created"]}),
    )
    .await
    .assert_error(400, "invalid_field", Some("webhook_events"));
    let calendar = s
        .patch(
            &tenant,
            Some(&t.key),
            &json!({"name": "Renamed", "calendar": {"timezone": "Europe/Berlin"}}),
        )
        .await;
    calendar.assert_error(400, "invalid_field", Some("calendar"));
    let message = calendar.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("`automation_webhook_url`"), "{message}");
    // Nothing of a refused body was applied.
    assert_eq!(s.get(&tenant, Some(&t.key)).await.body, before.body);

    // A misspelt field of a new user: no user is made.
    let users = format!("/api/v1/tenants/{}/users", t.id);
    s.post(
        &users,
        Some(&t.key),
        &json!({"name": "Mike", "role": "executor", "skils": ["HVAC"]}),
    )
    .await
    .assert_error(400, "invalid_field", Some("skils"));
    // A wrong type names the field, down to the list item.
    s.post(
        &users,
        Some(&t.key),
        &json!({"name": "Mike", "role": "executor", "skills": ["HVAC", 7]}),
    )
    .await
    .assert_error(400, "invalid_field", Some("skills[1]"));
    let exec = s
        .user(
            &t,
            json!({"name": "Mike", "role": "executor", "skills": ["HVAC"]}),
        )
        .await;
    s.patch(
        &format!("/api/v1/users/{exec}"),
        Some(&t.key),
        &json!({"phone": "+1-555-0101", "mobile": "+1-555-0102"}),
    )
    .await
    .assert_error(400, "invalid_field", Some("mobile"));
    assert_eq!(
        s.get(&format!("/api/v1/users/{exec}"), Some(&t.key))
            .await
            .body["phone"],
        Value::Null
    );

    // Rule sets name the unknown field where it is, and the cron endpoint takes no fields.
    s.put(
        &format!("{tenant}/rules"),
        Some(&t.key),
        &json!({"version": 1, "rulez": []}),
    )
    .await
    .assert_error(400, "invalid_field", Some("rulez"));
    s.put(
        &format!("{tenant}/rules"),
        Some(&t.key),
        &json!({"version": 1, "rules": [{"id": "r", "actions": {"asign": {}}}]}),
    )
    .await
    .assert_error(400, "invalid_field", Some("rules[0].actions.asign"));
    s.post(
        "/functions/v1/ticket-activity-webhook",
        Some(ADMIN),
        &json!({"limit": 5}),
    )
    .await
    .assert_error(400, "invalid_field", Some("limit"));
    // A dry run is strict too, unlike the intake it mirrors.
    let mut probe = spec_body(&t);
    probe["prioritty"] = json!("high");
    s.post(&format!("{tenant}/rules/dry-run"), Some(&t.key), &probe)
        .await
        .assert_error(400, "invalid_field", Some("prioritty"));
    s.stop().await;
}

#[tokio::test]
async fn the_intake_lists_the_keys_it_ignored() {
    let s = Server::start().await;
    let t = s.tenant_with_complainant(None).await;
    let plain = s.post(INTAKE, Some(&t.key), &spec_body(&t)).await;
    assert_eq!(plain.status, 200, "{plain:?}");
    assert_eq!(plain.body["ignored_fields"], json!([]));

    // A Make mapper's extra keys (and a typo) are accepted, and named in the answer.
    let mut body = spec_body(&t);
    body["prioritty"] = json!("critical");
    body["make_bundle"] = json!({"id": 7});
    body["message_id"] = json!("telegram-9");
    let first = s.post(INTAKE, Some(&t.key), &body).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(
        first.body["ignored_fields"],
        json!(["make_bundle", "prioritty"])
    );
    let id = first.body["ticket_id"].as_str().unwrap();
    let ticket = s.get(&format!("/api/v1/tickets/{id}"), Some(&t.key)).await;
    assert_eq!(
        ticket.body["priority"],
        json!("high"),
        "the typo was not read"
    );
    // A retry answers the same way.
    let again = s.post(INTAKE, Some(&t.key), &body).await;
    assert_eq!(again.body["duplicate"], json!(true), "{again:?}");
    assert_eq!(
        again.body["ignored_fields"],
        json!(["make_bundle", "prioritty"])
    );
    // Fields fms reads are still checked.
    body["floor"] = json!([3]);
    s.post(INTAKE, Some(&t.key), &body)
        .await
        .assert_error(400, "invalid_field", Some("floor"));
    s.stop().await;
}

#[tokio::test]
async fn the_cron_endpoint_delivers_when_the_dispatcher_is_off() {
    let receiver = receiver().await;
    let s = Server::start_with(|settings| settings.dispatcher = false).await;
    let t = s
        .tenant_with_complainant(Some(&receiver.url("/hook")))
        .await;
    let a = s
        .post(
            "/functions/v1/telegram-webhook",
            Some(&t.key),
            &spec_body(&t),
        )
        .await;
    assert_eq!(a.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(receiver.requests().is_empty());
    let batch = s
        .post(
            "/functions/v1/ticket-activity-webhook",
            Some(ADMIN),
            &json!({}),
        )
        .await;
    assert_eq!(batch.status, 200, "{batch:?}");
    assert_eq!(batch.body["claimed"], json!(1));
    assert_eq!(batch.body["delivered"], json!(1));
    assert_eq!(wait_for(&receiver, 1).await.len(), 1);
    let empty = s
        .send(
            "POST",
            "/functions/v1/ticket-activity-webhook",
            Some(ADMIN),
            None,
            &[],
        )
        .await;
    assert_eq!(empty.status, 200, "{empty:?}");
    s.stop().await;
}

#[tokio::test]
async fn health_metrics_and_openapi_need_no_token() {
    let s = Server::start().await;
    let t = s.tenant_with_complainant(None).await;
    let a = s
        .post(
            "/functions/v1/telegram-webhook",
            Some(&t.key),
            &spec_body(&t),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(s.get("/healthz", None).await.body["status"], json!("ok"));
    let m = s.metrics().await;
    assert!(m.contains("fms_tickets_created_total 1"), "{m}");
    assert!(
        m.contains("fms_webhook_queue_rows{state=\"pending\"}"),
        "{m}"
    );
    assert!(
        m.contains("fms_webhook_delivery_latency_seconds_bucket{le=\"+Inf\"}"),
        "{m}"
    );
    let doc = s.get("/openapi.json", None).await;
    assert_eq!(doc.status, 200);
    for path in [
        "/functions/v1/telegram-webhook",
        "/functions/v1/ticket-activity-webhook",
        "/api/v1/tenants",
        "/api/v1/tenants/{tenant_id}/rules/dry-run",
        "/api/v1/tickets/{ticket_id}/status",
        "/api/v1/webhook-queue/{entry_id}/replay",
    ] {
        assert!(doc.body["paths"][path].is_object(), "{path} missing");
    }
    s.stop().await;
}

#[test]
fn settings_come_from_the_environment() {
    use std::collections::HashMap;
    let read = |pairs: &[(&str, &str)]| {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        fms_server::Settings::from_lookup(|k| map.get(k).cloned())
    };
    let d = read(&[]).unwrap();
    assert_eq!(d.database_url, "sqlite://fms.db");
    assert_eq!(d.listen, "127.0.0.1:8080");
    assert!(d.dispatcher && !d.allow_insecure_webhooks && d.admin_token.is_none());
    assert_eq!(d.delivery.batch, 10);
    let s = read(&[
        ("FMS_DISPATCHER", "off"),
        ("FMS_ALLOW_INSECURE_WEBHOOKS", "1"),
        ("TICKET_ACTIVITY_WEBHOOK_BATCH", "25"),
        ("TICKET_ACTIVITY_WEBHOOK_TIMEOUT_MS", "120000"),
        ("TICKET_ACTIVITY_WEBHOOK_MIN_BACKOFF_MS", "100"),
        ("TICKET_ACTIVITY_WEBHOOK_MAX_BACKOFF_MS", "2000"),
    ])
    .unwrap();
    assert!(!s.dispatcher && s.allow_insecure_webhooks);
    assert_eq!(s.delivery.batch, 25);
    assert!(s.delivery.lease > s.delivery.timeout);
    // The spec's names (and fms's additions) for the delivery settings.
    let s = read(&[
        ("TICKET_ACTIVITY_WEBHOOK_LEASE_MS", "90000"),
        ("TICKET_ACTIVITY_WEBHOOK_PARK_AFTER_MS", "3600000"),
    ])
    .unwrap();
    assert_eq!(s.delivery.lease, std::time::Duration::from_secs(90));
    assert_eq!(s.delivery.park_after, std::time::Duration::from_secs(3600));
    // A lease that does not outlast the (default 10 s) timeout.
    assert!(read(&[("TICKET_ACTIVITY_WEBHOOK_LEASE_MS", "5000")]).is_err());
    for name in [
        "TICKET_ACTIVITY_WEBHOOK_BATCH",
        "TICKET_ACTIVITY_WEBHOOK_TIMEOUT_MS",
        "TICKET_ACTIVITY_WEBHOOK_MIN_BACKOFF_MS",
        "TICKET_ACTIVITY_WEBHOOK_MAX_BACKOFF_MS",
        "TICKET_ACTIVITY_WEBHOOK_LEASE_MS",
        "TICKET_ACTIVITY_WEBHOOK_PARK_AFTER_MS",
    ] {
        assert!(fms_server::HELP.contains(name), "{name}");
    }
    assert!(read(&[("FMS_DISPATCHER", "maybe")]).is_err());
    assert!(read(&[("TICKET_ACTIVITY_WEBHOOK_BATCH", "0")]).is_err());
    assert!(read(&[("TICKET_ACTIVITY_WEBHOOK_BATCH", "ten")]).is_err());
}

#[tokio::test]
async fn database_urls_are_understood() {
    let dir = std::env::temp_dir().join(format!("fms-server-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let abs = format!("sqlite://{}", dir.join("a.db").display());
    assert!(fms_server::open_store(&abs).await.is_ok());
    assert!(dir.join("a.db").exists());
    assert!(fms_server::open_store("sqlite::memory:").await.is_ok());
    let err = fms_server::open_store("mysql://x").await.unwrap_err();
    assert!(err.to_string().contains("DATABASE_URL"), "{err}");
    if !cfg!(feature = "postgres") {
        let err = fms_server::open_store("postgres://u@localhost/db")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Postgres"), "{err}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
