//! `ReqwestSender` against a real HTTP receiver on 127.0.0.1: headers, signatures verified
//! with the `standardwebhooks` crate on the exact bytes received, timeout, redirects, body
//! cap, `Retry-After`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fms_core::sender::{SendError, WebhookRequest, WebhookSender};
use fms_http::{ReqwestSender, SenderConfig, USER_AGENT, sign};
use fms_test_receiver::{Receiver, Reply};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NEXT_SECRET: &str = "whsec_c2VjcmV0LWtleS1udW1iZXItdHdv";

fn insecure() -> ReqwestSender {
    ReqwestSender::new(SenderConfig::default().with_allow_insecure(true)).unwrap()
}

fn now_secs() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs).unwrap()
}

fn request(url: String) -> WebhookRequest {
    WebhookRequest {
        url,
        webhook_id: "msg_2fYVfLJ1bEuo1VyrRnAyOqBvS8w".to_owned(),
        timestamp: now_secs(),
        body: r#"{"ticket_number":"TKT-1","comment":"café ☕ ok","sequence":1}"#
            .as_bytes()
            .to_vec(),
        secret: Some(format!("{SECRET} {NEXT_SECRET}")),
        timeout: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn sends_standard_webhooks_headers_and_a_verifiable_signature() {
    let receiver = Receiver::start(Reply::status(200)).await.unwrap();
    let req = request(receiver.url("/hook?token=abc"));
    let response = insecure().send(&req).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body_excerpt, "ok");
    assert_eq!(response.retry_after, None);

    let got = receiver.requests();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/hook?token=abc");
    assert_eq!(r.body, req.body, "the exact bytes");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("user-agent"), Some(USER_AGENT));
    assert!(USER_AGENT.starts_with("fms/"));
    assert_eq!(r.header("webhook-id"), Some(req.webhook_id.as_str()));
    let timestamp = req.timestamp.to_string();
    assert_eq!(r.header("webhook-timestamp"), Some(timestamp.as_str()));
    let expected = sign(
        &req.secret.clone().unwrap(),
        &req.webhook_id,
        req.timestamp,
        &req.body,
    )
    .unwrap();
    assert_eq!(r.header("webhook-signature"), Some(expected.as_str()));
    assert_eq!(expected.split(' ').count(), 2, "one signature per secret");

    // An independent implementation verifies what the receiver got, with either secret of
    // the rotation, and rejects another secret or altered bytes.
    let headers = &r.headers;
    for secret in [SECRET, NEXT_SECRET] {
        standardwebhooks::Webhook::new(secret)
            .unwrap()
            .verify(&r.body, headers)
            .unwrap_or_else(|e| panic!("{secret}: {e}"));
    }
    let stranger = standardwebhooks::Webhook::new("whsec_b3RoZXItdGVuYW50cy1zZWNyZXQ=").unwrap();
    assert!(stranger.verify(&r.body, headers).is_err());
    let mut tampered = r.body.clone();
    tampered.push(b' ');
    assert!(
        standardwebhooks::Webhook::new(SECRET)
            .unwrap()
            .verify(&tampered, headers)
            .is_err()
    );
}

#[tokio::test]
async fn the_webhook_id_is_the_same_on_every_attempt() {
    let receiver = Receiver::start(Reply::status(500)).await.unwrap();
    let sender = insecure();
    let req = request(receiver.url("/"));
    for _ in 0..3 {
        assert_eq!(sender.send(&req).await.unwrap().status, 500);
    }
    let ids: Vec<_> = receiver
        .requests()
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![req.webhook_id.clone(); 3]);
}

#[tokio::test]
async fn no_secret_means_no_signature_header() {
    let receiver = Receiver::start(Reply::status(204)).await.unwrap();
    let mut req = request(receiver.url("/"));
    req.secret = None;
    assert_eq!(insecure().send(&req).await.unwrap().status, 204);
    let got = receiver.requests();
    assert_eq!(got[0].header("webhook-signature"), None);
    assert!(got[0].header("webhook-id").is_some());
}

#[tokio::test]
async fn a_bad_secret_is_refused_before_sending() {
    let receiver = Receiver::start(Reply::status(200)).await.unwrap();
    let mut req = request(receiver.url("/"));
    req.secret = Some("whsec_%%%".to_owned());
    match insecure().send(&req).await {
        Err(SendError::Refused(reason)) => assert!(reason.contains("secret"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn the_request_timeout_applies() {
    let receiver = Receiver::start(Reply::hang()).await.unwrap();
    let mut req = request(receiver.url("/"));
    req.timeout = Duration::from_millis(300);
    let started = Instant::now();
    assert_eq!(insecure().send(&req).await, Err(SendError::Timeout));
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(250), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn redirects_come_back_as_responses_and_are_not_followed() {
    // A receiver that redirects to a "private" target (here: itself, another path).
    let target = Receiver::start(Reply::status(200)).await.unwrap();
    let redirecting = Receiver::start(
        Reply::status(302)
            .with_header("Location", target.url("/internal"))
            .with_body(Vec::new()),
    )
    .await
    .unwrap();
    let response = insecure()
        .send(&request(redirecting.url("/hook")))
        .await
        .unwrap();
    assert_eq!(response.status, 302);
    assert_eq!(redirecting.requests().len(), 1);
    assert!(target.requests().is_empty(), "the redirect was followed");
}

#[tokio::test]
async fn the_response_body_is_read_up_to_the_cap() {
    let big = vec![b'a'; 1024 * 1024];
    let receiver = Receiver::start(Reply::status(500).with_body(big))
        .await
        .unwrap();
    let response = insecure().send(&request(receiver.url("/"))).await.unwrap();
    assert_eq!(response.status, 500);
    assert_eq!(response.body_excerpt.len(), fms_http::DEFAULT_BODY_CAP);
    assert!(response.body_excerpt.bytes().all(|b| b == b'a'));

    let small = ReqwestSender::new(
        SenderConfig::default()
            .with_allow_insecure(true)
            .with_body_cap(10),
    )
    .unwrap();
    let response = small.send(&request(receiver.url("/"))).await.unwrap();
    assert_eq!(response.body_excerpt, "aaaaaaaaaa");
}

#[tokio::test]
async fn retry_after_is_returned_raw() {
    for value in ["120", "Sun, 06 Nov 1994 08:49:37 GMT"] {
        let receiver = Receiver::start(
            Reply::status(429)
                .with_header("Retry-After", value)
                .with_body(Vec::new()),
        )
        .await
        .unwrap();
        let response = insecure().send(&request(receiver.url("/"))).await.unwrap();
        assert_eq!(response.status, 429);
        assert_eq!(response.retry_after.as_deref(), Some(value));
    }
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error_without_the_url() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let req = request(format!("http://127.0.0.1:{port}/hook?token=secret-token"));
    match insecure().send(&req).await {
        Err(SendError::Transport(text)) => {
            assert!(!text.contains("secret-token"), "{text}");
            assert!(!text.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn secure_mode_refuses_the_loopback_receiver_without_contacting_it() {
    let receiver = Receiver::start(Reply::status(200)).await.unwrap();
    let sender = ReqwestSender::new(SenderConfig::default()).unwrap();
    let http = receiver.url("/");
    let https = http.replacen("http://", "https://", 1);
    for url in [http, https] {
        match sender.send(&request(url.clone())).await {
            Err(SendError::Refused(reason)) => assert!(!reason.is_empty(), "{url}"),
            other => panic!("{url}: {other:?}"),
        }
    }
    assert!(receiver.requests().is_empty());
}
