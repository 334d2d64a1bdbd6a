//! The receiver against a real client (reqwest): keep-alive, the reply rules, exact bytes,
//! delays, hanging, waiting and shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use fms_test_receiver::{Receiver, Reply};

async fn post(client: &reqwest::Client, url: &str, body: &'static [u8]) -> reqwest::Response {
    client.post(url).body(body).send().await.unwrap()
}

#[tokio::test]
async fn records_exact_requests_over_one_kept_alive_connection() {
    let receiver = Receiver::start(Reply::status(204)).await.unwrap();
    let client = reqwest::Client::new();
    for body in [&b"{\"a\":1}"[..], b"\0\xff binary", b""] {
        let response = post(&client, &receiver.url("/hook?token=t"), body).await;
        assert_eq!(response.status(), 204);
    }
    let got = receiver.requests();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].path, "/hook?token=t");
    assert_eq!(got[0].json().unwrap()["a"], 1);
    assert_eq!(got[1].body, b"\0\xff binary");
    assert!(got[2].body.is_empty());
    assert_eq!(got.iter().map(|r| r.index).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(got.iter().all(|r| r.peer == got[0].peer), "one connection");
    assert!(got.iter().all(|r| r.is_answered()));
}

#[tokio::test]
async fn the_script_comes_first_then_the_responder() {
    let receiver = Receiver::builder()
        .with_script([
            Reply::status(429).with_header("Retry-After", "120"),
            Reply::status(500).with_body(b"\0nul\xff".to_vec()),
        ])
        .with_responder(|r| Reply::status(if r.index % 2 == 0 { 200 } else { 410 }))
        .start()
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let url = receiver.url("/");
    let first = post(&client, &url, b"1").await;
    assert_eq!(first.status(), 429);
    assert_eq!(first.headers()["retry-after"], "120");
    let second = post(&client, &url, b"2").await;
    assert_eq!(second.status(), 500);
    assert_eq!(&second.bytes().await.unwrap()[..], b"\0nul\xff");
    assert_eq!(post(&client, &url, b"3").await.status(), 200);
    assert_eq!(post(&client, &url, b"4").await.status(), 410);
    receiver.enqueue(Reply::status(503));
    assert_eq!(post(&client, &url, b"5").await.status(), 503);
    let plain = Receiver::start(Reply::status(500)).await.unwrap();
    plain.set_default(Reply::status(201));
    let answer = post(&client, &plain.url("/"), b"x").await;
    assert_eq!(answer.status(), 201);
    assert_eq!(answer.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn delays_and_hangs_are_visible_in_the_answer_times() {
    let receiver = Receiver::builder()
        .with_script([Reply::hang()])
        .with_default(Reply::status(200).with_delay(Duration::from_millis(200)))
        .start()
        .await
        .unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let url = receiver.url("/");
    assert!(client.post(&url).send().await.unwrap_err().is_timeout());
    let started = Instant::now();
    assert_eq!(post(&client, &url, b"slow").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    let answered = receiver.wait_answered(1, Duration::from_secs(5)).await;
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0].index, 1);
    let got = receiver.requests();
    assert_eq!(got[0].answered_at, None, "the hanging one");
    let waited = got[1].answered_at.unwrap() - got[1].at;
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
}

#[tokio::test]
async fn waits_time_out_and_take_hands_out_each_request_once() {
    let receiver = Receiver::start(Reply::default()).await.unwrap();
    let started = Instant::now();
    assert!(
        receiver
            .wait_for(1, Duration::from_millis(100))
            .await
            .is_empty()
    );
    assert!(started.elapsed() >= Duration::from_millis(100));
    let client = reqwest::Client::new();
    let waiter = tokio::spawn({
        let receiver = receiver.clone();
        async move { receiver.wait_for(2, Duration::from_secs(5)).await.len() }
    });
    post(&client, &receiver.url("/a"), b"a").await;
    assert_eq!(receiver.take().len(), 1);
    post(&client, &receiver.url("/b"), b"b").await;
    assert_eq!(waiter.await.unwrap(), 2);
    let taken = receiver.take();
    assert_eq!((taken.len(), taken[0].path.as_str()), (1, "/b"));
    assert!(receiver.take().is_empty());
    assert_eq!(receiver.count(), 2);
}

#[tokio::test]
async fn shutdown_closes_the_port_and_hanging_connections() {
    let receiver = Receiver::start(Reply::hang()).await.unwrap();
    let url = receiver.url("/");
    let client = reqwest::Client::new();
    let pending = tokio::spawn({
        let client = client.clone();
        let url = url.clone();
        async move { client.post(url).body("x").send().await }
    });
    receiver.wait_for(1, Duration::from_secs(5)).await;
    tokio::time::timeout(Duration::from_secs(5), receiver.shutdown())
        .await
        .expect("shutdown does not wait for the hanging reply");
    let hung = tokio::time::timeout(Duration::from_secs(5), pending).await;
    assert!(hung.unwrap().unwrap().is_err(), "the connection was closed");
    assert!(client.post(url).send().await.is_err(), "nothing listens");
}
