//! End-to-end tests of the server's onboarding and notification endpoints over real
//! HTTP: the server on an ephemeral 127.0.0.1 port, a loopback receiver standing in for
//! `MAKE_USER_ONBOARDING_WEBHOOK_URL`. Expiry is driven by an injected `ManualClock`, not by
//! sleeping. SQLite in memory, or Postgres with `FMS_TEST_POSTGRES_URL` (see server_support).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod server_support;

use std::sync::Arc;

use chrono::Utc;
use fms::clock::ManualClock;
use serde_json::{Value, json};
use server_support::{ADMIN, Answer, Server, TestTenant, receiver, spec_body, wait_for};

const REQUEST: &str = "/functions/v1/user-onboarding-request";
const CALLBACK: &str = "/functions/v1/user-onboarding-callback";

/// A server on a manual clock (standing at now), with `change` applied to its settings.
async fn server_on(
    clock: &Arc<ManualClock>,
    change: impl FnOnce(&mut fms_server::Settings),
) -> Server {
    let clock: Arc<dyn fms::clock::Clock> = clock.clone();
    Server::start_with(move |s| {
        s.clock = Some(clock);
        change(s);
    })
    .await
}

fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Utc::now()))
}

async fn invite(s: &Server, t: &TestTenant, email: &str) -> Answer {
    s.post(
        REQUEST,
        Some(&t.key),
        &json!({"email": email, "role": "executor", "name": "Nina Petrova"}),
    )
    .await
}

async fn invite_ok(s: &Server, t: &TestTenant, email: &str) -> (String, String) {
    let a = invite(s, t, email).await;
    assert_eq!(a.status, 202, "{a:?}");
    (
        a.body["correlation_id"].as_str().unwrap().to_owned(),
        a.body["user_id"].as_str().unwrap().to_owned(),
    )
}

async fn callback(s: &Server, key: &str, correlation_id: &str, chat_id: Value) -> Answer {
    s.post(
        CALLBACK,
        Some(key),
        &json!({"correlation_id": correlation_id, "chat_id": chat_id}),
    )
    .await
}

#[tokio::test]
async fn a_request_is_accepted_and_its_signed_payload_reaches_the_onboarding_webhook() {
    let receiver = receiver().await;
    let secret = fms::secret::generate_webhook_secret();
    let (url, sec) = (receiver.url("/hook"), secret.clone());
    let s = Server::start_with(move |settings| {
        settings.onboarding_webhook_url = Some(url);
        settings.onboarding_secret = Some(sec);
        settings.telegram_bot = Some("fms_test_bot".to_owned());
    })
    .await;
    let t = s.tenant("ACME Facilities", None).await;

    let a = invite(&s, &t, "nina@example.com").await;
    assert_eq!(a.status, 202, "{a:?}");
    assert_eq!(a.body["success"], json!(true));
    let cid = a.body["correlation_id"].as_str().unwrap().to_owned();
    let user_id = a.body["user_id"].as_str().unwrap().to_owned();
    assert_eq!(cid.len(), 43, "{cid}");
    assert!(
        cid.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{cid}"
    );
    assert_eq!(
        a.body["deep_link"],
        json!(format!("https://t.me/fms_test_bot?start={cid}"))
    );
    let expires_at = a.body["expires_at"].as_str().unwrap().to_owned();
    let expires = chrono::DateTime::parse_from_rfc3339(&expires_at).unwrap();
    let ttl = expires.with_timezone(&Utc) - Utc::now();
    assert!(
        ttl > chrono::Duration::days(7) - chrono::Duration::minutes(1)
            && ttl <= chrono::Duration::days(7),
        "{ttl:?}"
    );

    // The receiver gets the payload, signed with FMS_ONBOARDING_WEBHOOK_SECRET.
    let got = wait_for(&receiver, 1).await;
    let r = &got[0];
    standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .verify(&r.body, &r.headers)
        .expect("the onboarding payload verifies with the configured secret");
    let stranger = standardwebhooks::Webhook::new(&t.secret).unwrap();
    assert!(stranger.verify(&r.body, &r.headers).is_err());
    assert_eq!(r.header("webhook-id"), Some(format!("onb_{cid}").as_str()));
    let payload = r.json().unwrap();
    assert_eq!(
        payload,
        json!({
            "event": "user_onboarding_requested",
            "tenant_id": t.id,
            "user_id": user_id,
            "email": "nina@example.com",
            "role": "executor",
            "name": "Nina Petrova",
            "correlation_id": cid,
            "deep_link": format!("https://t.me/fms_test_bot?start={cid}"),
            "expires_at": expires_at,
        })
    );

    // The background loop's batches are counted too.
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = s.metrics().await;
        if metrics.contains("fms_onboarding_deliveries_total 1\n") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        metrics.contains("fms_onboarding_deliveries_total 1\n"),
        "{metrics}"
    );

    // The pending user.
    let user = s
        .get(&format!("/api/v1/users/{user_id}"), Some(&t.key))
        .await;
    assert_eq!(user.status, 200, "{user:?}");
    assert_eq!(user.body["onboarding"], json!("pending"));
    assert_eq!(user.body["role"], json!("executor"));
    assert_eq!(user.body["email"], json!("nina@example.com"));
    assert_eq!(user.body["telegram_chat_id"], Value::Null);
    s.stop().await;
}

#[tokio::test]
async fn without_a_secret_or_bot_the_payload_is_unsigned_and_has_no_deep_link() {
    let receiver = receiver().await;
    let url = receiver.url("/hook");
    let s = Server::start_with(move |settings| settings.onboarding_webhook_url = Some(url)).await;
    let t = s.tenant("ACME Facilities", None).await;
    let a = s
        .post(
            REQUEST,
            Some(&t.key),
            &json!({"email": "max@example.com", "role": "complainant"}),
        )
        .await;
    assert_eq!(a.status, 202, "{a:?}");
    assert_eq!(a.body["deep_link"], Value::Null);
    let got = wait_for(&receiver, 1).await;
    assert_eq!(got[0].header("webhook-signature"), None);
    let payload = got[0].json().unwrap();
    assert_eq!(payload["deep_link"], Value::Null);
    assert_eq!(payload["name"], Value::Null);
    assert_eq!(payload["role"], json!("complainant"));
    s.stop().await;
}

#[tokio::test]
async fn onboarding_request_errors() {
    let s = Server::start().await;
    let t = s.tenant("ACME Facilities", None).await;
    let other = s.tenant("Other", None).await;
    s.post(REQUEST, Some(&t.key), &json!({"role": "executor"}))
        .await
        .assert_error(400, "missing_field", Some("email"));
    s.post(
        REQUEST,
        Some(&t.key),
        &json!({"email": "   ", "role": "executor"}),
    )
    .await
    .assert_error(400, "missing_field", Some("email"));
    s.post(
        REQUEST,
        Some(&t.key),
        &json!({"email": "not-an-email", "role": "executor"}),
    )
    .await
    .assert_error(400, "invalid_field", Some("email"));
    s.post(REQUEST, Some(&t.key), &json!({"email": "a@example.com"}))
        .await
        .assert_error(400, "missing_field", Some("role"));
    s.post(
        REQUEST,
        Some(&t.key),
        &json!({"email": "a@example.com", "role": "janitor"}),
    )
    .await
    .assert_error(400, "invalid_field", Some("role"));
    s.post(
        REQUEST,
        Some(&t.key),
        &json!({"email": "a@example.com", "role": "executor", "name": "x".repeat(501)}),
    )
    .await
    .assert_error(400, "invalid_field", Some("name"));
    s.send("POST", REQUEST, Some(&t.key), Some(b"[1]".to_vec()), &[])
        .await
        .assert_error(400, "invalid_json", None);
    // Auth: none, unknown, another tenant named in the body.
    s.post(
        REQUEST,
        None,
        &json!({"email": "a@example.com", "role": "executor"}),
    )
    .await
    .assert_error(401, "unauthorized", None);
    s.post(
        REQUEST,
        Some(&other.key),
        &json!({"email": "a@example.com", "role": "executor", "tenant_id": t.id}),
    )
    .await
    .assert_error(403, "forbidden", None);
    // The operator names the tenant.
    s.post(
        REQUEST,
        Some(ADMIN),
        &json!({"email": "a@example.com", "role": "executor"}),
    )
    .await
    .assert_error(400, "missing_field", Some("tenant_id"));
    s.post(
        REQUEST,
        Some(ADMIN),
        &json!({"email": "a@example.com", "role": "executor", "tenant_id": "nope"}),
    )
    .await
    .assert_error(400, "invalid_field", Some("tenant_id"));
    s.post(
        REQUEST,
        Some(ADMIN),
        &json!({"email": "a@example.com", "role": "executor",
                "tenant_id": uuid::Uuid::new_v4().to_string()}),
    )
    .await
    .assert_error(404, "not_found", None);
    let a = s
        .post(
            REQUEST,
            Some(ADMIN),
            &json!({"email": "a@example.com", "role": "admin", "tenant_id": t.id}),
        )
        .await;
    assert_eq!(a.status, 202, "{a:?}");
    // A tenant key naming its own tenant is fine.
    let a = s
        .post(
            REQUEST,
            Some(&t.key),
            &json!({"email": "b@example.com", "role": "executor", "tenant_id": t.id}),
        )
        .await;
    assert_eq!(a.status, 202, "{a:?}");
    s.stop().await;
}

#[tokio::test]
async fn callback_outcomes() {
    let clock = manual_clock();
    let s = server_on(&clock, |_| {}).await;
    let t = s.tenant("ACME Facilities", None).await;
    let other = s.tenant("Other Facilities", None).await;
    let (cid, user_id) = invite_ok(&s, &t, "nina@example.com").await;

    // Unknown; another tenant's correlation id (as that tenant sees it: unknown).
    let unknown = "A".repeat(43);
    callback(&s, &t.key, &unknown, json!(555))
        .await
        .assert_error(404, "not_found", None);
    callback(&s, &other.key, &cid, json!(555))
        .await
        .assert_error(404, "not_found", None);
    // Naming the other tenant in the body is forbidden outright.
    s.post(
        CALLBACK,
        Some(&other.key),
        &json!({"correlation_id": cid, "chat_id": 555, "tenant_id": t.id}),
    )
    .await
    .assert_error(403, "forbidden", None);

    // Bind: chat_id as a JSON integer (Telegram ids are numbers).
    let a = callback(&s, &t.key, &cid, json!(555)).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.body["success"], json!(true));
    assert_eq!(a.body["user"]["id"], json!(user_id));
    assert_eq!(a.body["user"]["onboarding"], json!("onboarded"));
    assert_eq!(a.body["user"]["telegram_chat_id"], json!("555"));
    let user = s
        .get(&format!("/api/v1/users/{user_id}"), Some(&t.key))
        .await;
    assert_eq!(user.body["onboarding"], json!("onboarded"));
    assert_eq!(user.body["telegram_chat_id"], json!("555"));

    // The same chat again (as a string now): 200, nothing changes.
    let again = callback(&s, &t.key, &cid, json!("555")).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body["user"], a.body["user"]);

    // Another chat on a used correlation id: 409.
    callback(&s, &t.key, &cid, json!(556))
        .await
        .assert_error(409, "conflict", None);

    // A chat id already bound to another user of the tenant: 409.
    let (cid_b, user_b) = invite_ok(&s, &t, "max@example.com").await;
    callback(&s, &t.key, &cid_b, json!("555"))
        .await
        .assert_error(409, "conflict", None);
    let b = s
        .get(&format!("/api/v1/users/{user_b}"), Some(&t.key))
        .await;
    assert_eq!(b.body["onboarding"], json!("pending"), "{b:?}");
    assert_eq!(b.body["telegram_chat_id"], Value::Null);
    // ... which still works with its own chat.
    let ok = callback(&s, &t.key, &cid_b, json!(777)).await;
    assert_eq!(ok.status, 200, "{ok:?}");

    // Expired: 410, after the default lifetime of 7 days; the same chat of a completed
    // invitation still succeeds after expiry.
    let (cid_c, _) = invite_ok(&s, &t, "late@example.com").await;
    clock.advance(chrono::Duration::days(7));
    callback(&s, &t.key, &cid_c, json!(888))
        .await
        .assert_error(410, "gone", None);
    let late_again = callback(&s, &t.key, &cid, json!(555)).await;
    assert_eq!(late_again.status, 200, "{late_again:?}");

    // Body errors.
    s.post(CALLBACK, Some(&t.key), &json!({"chat_id": 1}))
        .await
        .assert_error(400, "missing_field", Some("correlation_id"));
    s.post(CALLBACK, Some(&t.key), &json!({"correlation_id": cid}))
        .await
        .assert_error(400, "missing_field", Some("chat_id"));
    for blank in [Value::Null, json!(""), json!("  ")] {
        callback(&s, &t.key, &cid, blank)
            .await
            .assert_error(400, "missing_field", Some("chat_id"));
    }
    callback(&s, &t.key, &cid, json!(1.5)).await.assert_error(
        400,
        "invalid_field",
        Some("chat_id"),
    );
    callback(&s, &t.key, "not a correlation id", json!(1))
        .await
        .assert_error(400, "invalid_field", Some("correlation_id"));
    callback(&s, &t.key, &"A".repeat(65), json!(1))
        .await
        .assert_error(400, "invalid_field", Some("correlation_id"));
    // The operator names the tenant.
    s.post(
        CALLBACK,
        Some(ADMIN),
        &json!({"correlation_id": cid, "chat_id": 555}),
    )
    .await
    .assert_error(400, "missing_field", Some("tenant_id"));
    let op = s
        .post(
            CALLBACK,
            Some(ADMIN),
            &json!({"correlation_id": cid, "chat_id": 555, "tenant_id": t.id}),
        )
        .await;
    assert_eq!(op.status, 200, "{op:?}");
    s.stop().await;
}

#[tokio::test]
async fn a_short_ttl_setting_expires_correlation_ids() {
    let clock = manual_clock();
    let s = server_on(&clock, |settings| {
        settings.onboarding_ttl = std::time::Duration::from_secs(1);
    })
    .await;
    let t = s.tenant("ACME Facilities", None).await;
    let (early, _) = invite_ok(&s, &t, "early@example.com").await;
    let (late, _) = invite_ok(&s, &t, "late@example.com").await;
    clock.advance(chrono::Duration::milliseconds(999));
    let a = callback(&s, &t.key, &early, json!(1)).await;
    assert_eq!(a.status, 200, "{a:?}");
    clock.advance(chrono::Duration::milliseconds(1));
    callback(&s, &t.key, &late, json!(2))
        .await
        .assert_error(410, "gone", None);
    s.stop().await;
}

async fn notes(s: &Server, key: &str, tenant: &str, query: &str) -> Answer {
    s.get(
        &format!("/api/v1/tenants/{tenant}/notifications{query}"),
        Some(key),
    )
    .await
}

fn kinds(page: &Answer) -> Vec<String> {
    page.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{page:?}"))
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn notifications_are_listed_filtered_marked_read_and_scoped_to_their_tenant() {
    let clock = manual_clock();
    let s = server_on(&clock, |_| {}).await;
    // No executor: the ticket cannot be assigned.
    let t = s.tenant_with_complainant(None).await;
    let other = s.tenant("Other Facilities", None).await;
    let admin = s.user(&t, json!({"name": "Ada", "role": "admin"})).await;
    let complainant_page = notes(&s, &t.key, &t.id, "").await;
    assert_eq!(complainant_page.status, 200, "{complainant_page:?}");
    assert_eq!(complainant_page.body["items"], json!([]));
    assert_eq!(complainant_page.body["next_cursor"], Value::Null);

    let a = s
        .post(
            "/functions/v1/telegram-webhook",
            Some(&t.key),
            &spec_body(&t),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let ticket_id = a.body["ticket_id"].as_str().unwrap().to_owned();
    clock.advance(chrono::Duration::seconds(1));
    let (cid, user_id) = invite_ok(&s, &t, "nina@example.com").await;
    let done = callback(&s, &t.key, &cid, json!(4242)).await;
    assert_eq!(done.status, 200, "{done:?}");

    // Newest first.
    let page = notes(&s, &t.key, &t.id, "").await;
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(kinds(&page), ["user_onboarded", "ticket_unassigned"]);
    let onboarded = page.body["items"][0].clone();
    let unassigned = page.body["items"][1].clone();
    assert_eq!(onboarded["user_id"], json!(user_id));
    assert_eq!(onboarded["ticket_id"], Value::Null);
    assert_eq!(unassigned["ticket_id"], json!(ticket_id));
    for n in [&onboarded, &unassigned] {
        assert!(uuid::Uuid::parse_str(n["id"].as_str().unwrap()).is_ok());
        assert!(n["message"].as_str().is_some_and(|m| !m.is_empty()), "{n}");
        assert!(n["created_at"].is_string());
        assert_eq!(n["read_at"], Value::Null);
        let mut keys: Vec<&str> = n.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "created_at",
                "id",
                "kind",
                "message",
                "read_at",
                "ticket_id",
                "user_id"
            ]
        );
    }
    assert_eq!(page.body["next_cursor"], Value::Null);

    // Pages of one, by the cursor.
    let first = notes(&s, &t.key, &t.id, "?limit=1").await;
    assert_eq!(kinds(&first), ["user_onboarded"]);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = notes(&s, &t.key, &t.id, &format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(kinds(&second), ["ticket_unassigned"]);
    assert_eq!(second.body["next_cursor"], Value::Null);
    notes(&s, &t.key, &t.id, "?cursor=bogus")
        .await
        .assert_error(400, "invalid_field", Some("cursor"));
    notes(&s, &t.key, &t.id, "?limit=201")
        .await
        .assert_error(400, "invalid_field", Some("limit"));

    // Another tenant's key: cannot list them, cannot mark them, and they stay unread.
    let onboarded_id = onboarded["id"].as_str().unwrap().to_owned();
    let unassigned_id = unassigned["id"].as_str().unwrap().to_owned();
    notes(&s, &other.key, &t.id, "")
        .await
        .assert_error(403, "forbidden", None);
    s.post(
        &format!("/api/v1/notifications/{unassigned_id}/read"),
        Some(&other.key),
        &json!({}),
    )
    .await
    .assert_error(404, "not_found", None);
    let own = notes(&s, &other.key, &other.id, "").await;
    assert_eq!(own.status, 200, "{own:?}");
    assert_eq!(own.body["items"], json!([]));

    // Mark read: 200 with read_at; again keeps the first read time.
    let read = s
        .post(
            &format!("/api/v1/notifications/{onboarded_id}/read"),
            Some(&t.key),
            &json!({}),
        )
        .await;
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(read.body["id"], json!(onboarded_id));
    assert_eq!(read.body["kind"], json!("user_onboarded"));
    assert!(read.body["read_at"].is_string(), "{read:?}");
    clock.advance(chrono::Duration::seconds(5));
    let again = s
        .send(
            "POST",
            &format!("/api/v1/notifications/{onboarded_id}/read"),
            Some(&t.key),
            None,
            &[],
        )
        .await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body["read_at"], read.body["read_at"]);

    // The unread filter.
    let unread = notes(&s, &t.key, &t.id, "?unread=true").await;
    assert_eq!(kinds(&unread), ["ticket_unassigned"]);
    assert_eq!(
        kinds(&notes(&s, &t.key, &t.id, "?unread=false").await).len(),
        2
    );
    notes(&s, &t.key, &t.id, "?unread=maybe")
        .await
        .assert_error(400, "invalid_field", Some("unread"));

    // A user's dashboard: the admin sees the admins' notifications, the complainant none.
    let ada = notes(&s, &t.key, &t.id, &format!("?user_id={admin}")).await;
    assert_eq!(kinds(&ada), ["user_onboarded", "ticket_unassigned"]);
    let nina = notes(&s, &t.key, &t.id, &format!("?user_id={user_id}")).await;
    assert_eq!(nina.body["items"], json!([]), "{nina:?}");
    let stranger = s
        .user(&other, json!({"name": "Eve", "role": "admin"}))
        .await;
    notes(&s, &t.key, &t.id, &format!("?user_id={stranger}"))
        .await
        .assert_error(404, "not_found", None);

    // The operator sees and marks any tenant's.
    let op = notes(&s, ADMIN, &t.id, "?unread=true").await;
    assert_eq!(kinds(&op), ["ticket_unassigned"]);
    let marked = s
        .post(
            &format!("/api/v1/notifications/{unassigned_id}/read"),
            Some(ADMIN),
            &json!({}),
        )
        .await;
    assert_eq!(marked.status, 200, "{marked:?}");
    assert_eq!(
        notes(&s, &t.key, &t.id, "?unread=true").await.body["items"],
        json!([])
    );

    // Unknown ids and paths.
    s.post(
        &format!("/api/v1/notifications/{}/read", uuid::Uuid::new_v4()),
        Some(&t.key),
        &json!({}),
    )
    .await
    .assert_error(404, "not_found", None);
    s.post("/api/v1/notifications/42/read", Some(&t.key), &json!({}))
        .await
        .assert_error(400, "invalid_field", Some("notification_id"));
    notes(&s, ADMIN, &uuid::Uuid::new_v4().to_string(), "")
        .await
        .assert_error(404, "not_found", None);
    s.get(&format!("/api/v1/tenants/{}/notifications", t.id), None)
        .await
        .assert_error(401, "unauthorized", None);
    s.stop().await;
}

#[tokio::test]
async fn the_cron_endpoint_delivers_onboarding_requests_when_the_dispatcher_is_off() {
    let receiver = receiver().await;
    let url = receiver.url("/hook");
    let s = Server::start_with(move |settings| {
        settings.dispatcher = false;
        settings.onboarding_webhook_url = Some(url);
    })
    .await;
    let t = s.tenant("ACME Facilities", None).await;
    invite_ok(&s, &t, "nina@example.com").await;
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
    assert_eq!(batch.body["claimed"], json!(0));
    assert_eq!(batch.body["sla_events"], json!(0));
    assert_eq!(batch.body["onboarding"]["claimed"], json!(1));
    assert_eq!(batch.body["onboarding"]["delivered"], json!(1));
    let got = wait_for(&receiver, 1).await;
    assert_eq!(got[0].json().unwrap()["email"], json!("nina@example.com"));
    let metrics = s.metrics().await;
    assert!(
        metrics.contains("fms_onboarding_deliveries_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("fms_webhook_deliveries_total 0\n"),
        "{metrics}"
    );
    s.stop().await;
}

#[tokio::test]
async fn the_openapi_document_has_the_onboarding_and_notification_endpoints() {
    let s = Server::start().await;
    let doc = s.get("/openapi.json", None).await;
    assert_eq!(doc.status, 200);
    for (path, method, status) in [
        (REQUEST, "post", "202"),
        (CALLBACK, "post", "410"),
        ("/api/v1/tenants/{tenant_id}/notifications", "get", "200"),
        (
            "/api/v1/notifications/{notification_id}/read",
            "post",
            "200",
        ),
    ] {
        assert!(
            doc.body["paths"][path][method]["responses"][status].is_object(),
            "{path} {method} {status} missing"
        );
    }
    for schema in [
        "OnboardingAccepted",
        "OnboardingDone",
        "NotificationView",
        "NotificationPage",
    ] {
        assert!(
            doc.body["components"]["schemas"][schema].is_object(),
            "{schema} missing"
        );
    }
    s.stop().await;
}

#[test]
fn onboarding_settings_come_from_the_environment_and_are_checked() {
    use std::collections::HashMap;
    let read = |pairs: &[(&str, &str)]| {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        fms_server::Settings::from_lookup(|k| map.get(k).cloned())
    };
    let d = read(&[]).unwrap();
    assert_eq!(d.onboarding_webhook_url, None);
    assert_eq!(d.telegram_bot, None);
    assert_eq!(d.onboarding_secret, None);
    assert_eq!(d.onboarding_ttl, std::time::Duration::from_secs(604_800));

    let secret = fms::secret::generate_webhook_secret();
    let s = read(&[
        (
            "MAKE_USER_ONBOARDING_WEBHOOK_URL",
            "https://hook.eu1.make.com/onboarding",
        ),
        ("FMS_TELEGRAM_BOT", "@fms_bot"),
        ("FMS_ONBOARDING_WEBHOOK_SECRET", &secret),
        ("FMS_ONBOARDING_TTL_SECS", "3600"),
    ])
    .unwrap();
    assert_eq!(
        s.onboarding_webhook_url.as_deref(),
        Some("https://hook.eu1.make.com/onboarding")
    );
    assert_eq!(s.telegram_bot.as_deref(), Some("fms_bot"));
    assert_eq!(s.onboarding_secret.as_deref(), Some(secret.as_str()));
    assert_eq!(s.onboarding_ttl, std::time::Duration::from_secs(3600));

    let err = |pairs: &[(&str, &str)]| read(pairs).unwrap_err().to_string();
    let e = err(&[("FMS_ONBOARDING_WEBHOOK_SECRET", "hunter2-not-a-secret")]);
    assert!(e.contains("FMS_ONBOARDING_WEBHOOK_SECRET"), "{e}");
    assert!(!e.contains("hunter2"), "the secret leaks: {e}");
    for ttl in ["0", "-5", "soon", "999999999999"] {
        let e = err(&[("FMS_ONBOARDING_TTL_SECS", ttl)]);
        assert!(e.contains("FMS_ONBOARDING_TTL_SECS"), "{e}");
    }
    let e = err(&[(
        "MAKE_USER_ONBOARDING_WEBHOOK_URL",
        "http://127.0.0.1:9/onboarding",
    )]);
    assert!(e.contains("MAKE_USER_ONBOARDING_WEBHOOK_URL"), "{e}");
    assert!(
        read(&[
            ("MAKE_USER_ONBOARDING_WEBHOOK_URL", "http://127.0.0.1:9/x"),
            ("FMS_ALLOW_INSECURE_WEBHOOKS", "1"),
        ])
        .is_ok()
    );
    let e = err(&[("FMS_TELEGRAM_BOT", "my bot!")]);
    assert!(e.contains("FMS_TELEGRAM_BOT"), "{e}");

    let help = fms_server::HELP;
    assert!(!help.contains("not in this build"), "{help}");
    for name in [
        "MAKE_USER_ONBOARDING_WEBHOOK_URL",
        "FMS_TELEGRAM_BOT",
        "FMS_ONBOARDING_WEBHOOK_SECRET",
        "FMS_ONBOARDING_TTL_SECS",
    ] {
        assert!(help.contains(name), "{name}");
    }
}

#[tokio::test]
async fn start_refuses_a_bad_onboarding_secret() {
    let settings = fms_server::Settings {
        admin_token: Some(ADMIN.to_owned()),
        onboarding_secret: Some("plain-text".to_owned()),
        ..fms_server::Settings::default()
    };
    let store = fms_server::open_store("sqlite::memory:").await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = fms_server::start(&settings, store, listener)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("FMS_ONBOARDING_WEBHOOK_SECRET"),
        "{err}"
    );
}

/// Postgres: a server whose loops poll only once a minute still delivers at once a ticket
/// that another server (dispatcher off) committed: LISTEN/NOTIFY wakes it. Skipped on SQLite.
#[tokio::test]
async fn on_postgres_another_servers_commit_wakes_the_dispatcher() {
    let receiver = receiver().await;
    let writer = Server::start_with(|settings| settings.dispatcher = false).await;
    let Some(deliverer) = writer
        .another_on_same_database(|settings| {
            settings.poll_interval = std::time::Duration::from_secs(60);
        })
        .await
    else {
        writer.stop().await;
        return;
    };
    let t = writer
        .tenant_with_complainant(Some(&receiver.url("/hook")))
        .await;
    // Let the deliverer's loops finish their first (empty) round and wait.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let a = writer
        .post(
            "/functions/v1/telegram-webhook",
            Some(&t.key),
            &spec_body(&t),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let started = std::time::Instant::now();
    let got = wait_for(&receiver, 1).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        got[0].json().unwrap()["latest_activity"]["type"],
        json!("ticket_created")
    );
    deliverer.stop().await;
    writer.stop().await;
}
