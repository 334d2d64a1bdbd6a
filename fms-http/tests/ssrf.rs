//! The SSRF table: URLs a secure `ReqwestSender` must refuse, with a clear reason, before
//! sending anything; and the DNS-time check on a name resolving to loopback.
//!
//! Nothing here contacts anything: every URL is refused before a connection is attempted
//! (the only lookups are of `localhost`, answered from the hosts file).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use fms_core::sender::{SendError, WebhookRequest, WebhookSender};
use fms_http::{GuardedResolver, ReqwestSender, SenderConfig, UrlError, check_url};

/// (URL, a piece the refusal must name: the host or address, or the scheme)
const REFUSED: &[(&str, &str)] = &[
    // Each private IPv4 range.
    ("https://10.0.0.1/hook", "10.0.0.1"),
    ("https://10.255.255.254/hook", "10.255.255.254"),
    ("https://172.16.0.1/hook", "172.16.0.1"),
    ("https://172.31.255.1/hook", "172.31.255.1"),
    ("https://192.168.0.10/hook", "192.168.0.10"),
    // Loopback, by address and by name.
    ("https://127.0.0.1/hook", "127.0.0.1"),
    ("https://127.0.0.1:8443/hook", "127.0.0.1"),
    ("https://127.42.0.1/hook", "127.42.0.1"),
    ("https://localhost/hook", "localhost"),
    ("https://LOCALHOST./hook", "localhost"),
    ("https://foo.localhost/hook", "foo.localhost"),
    ("https://[::1]/hook", "::1"),
    ("https://[::ffff:127.0.0.1]/hook", "127.0.0.1"),
    ("https://[::ffff:10.0.0.1]/hook", "10.0.0.1"),
    ("https://[64:ff9b::7f00:1]/hook", "127.0.0.1"),
    ("https://[2002:7f00:1::1]/hook", "127.0.0.1"),
    // Decimal, octal, hex and short forms of 127.0.0.1: normalised by the URL parser.
    ("https://2130706433/hook", "127.0.0.1"),
    ("https://0177.0.0.1/hook", "127.0.0.1"),
    ("https://0x7f.0.0.1/hook", "127.0.0.1"),
    ("https://0x7f000001/hook", "127.0.0.1"),
    ("https://127.1/hook", "127.0.0.1"),
    // Link-local and cloud metadata.
    (
        "https://169.254.169.254/latest/meta-data/",
        "169.254.169.254",
    ),
    ("https://[fe80::1]/hook", "fe80::1"),
    ("https://[::ffff:169.254.169.254]/hook", "169.254.169.254"),
    // Unspecified, CGNAT, unique-local, multicast, documentation, broadcast.
    ("https://0.0.0.0/hook", "0.0.0.0"),
    ("https://0/hook", "0.0.0.0"),
    ("https://[::]/hook", "::"),
    ("https://100.64.0.1/hook", "100.64.0.1"),
    ("https://[fc00::1]/hook", "fc00::1"),
    ("https://[fd00:ec2::254]/hook", "fd00:ec2::254"),
    ("https://224.0.0.1/hook", "224.0.0.1"),
    ("https://[ff02::1]/hook", "ff02::1"),
    ("https://192.0.2.1/hook", "192.0.2.1"),
    ("https://198.51.100.1/hook", "198.51.100.1"),
    ("https://203.0.113.1/hook", "203.0.113.1"),
    ("https://[2001:db8::1]/hook", "2001:db8::1"),
    ("https://255.255.255.255/hook", "255.255.255.255"),
    // Plain http in secure mode, even to a public host; and other schemes.
    ("http://hook.example.com/hook", "http"),
    ("http://93.184.215.14/hook", "http"),
    ("ftp://hook.example.com/hook", "ftp"),
    ("file:///etc/passwd", "file"),
    // Not a usable URL at all.
    ("https://", "invalid"),
    ("hook.example.com/hook", "invalid"),
];

fn request(url: &str) -> WebhookRequest {
    WebhookRequest {
        url: url.to_owned(),
        webhook_id: "msg_1".to_owned(),
        timestamp: 1,
        body: b"{}".to_vec(),
        secret: Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()),
        timeout: Duration::from_secs(2),
    }
}

#[tokio::test]
async fn secure_mode_refuses_the_table_with_a_clear_reason() {
    assert!(REFUSED.len() >= 20);
    let sender = ReqwestSender::new(SenderConfig::default()).unwrap();
    for (url, names) in REFUSED {
        let save_time = check_url(url, false).expect_err(url).to_string();
        assert!(save_time.contains(names), "{url}: {save_time}");
        match sender.send(&request(url)).await {
            Err(SendError::Refused(reason)) => {
                assert_eq!(reason, save_time, "{url}");
            }
            other => panic!("{url}: expected a refusal, got {other:?}"),
        }
    }
}

#[test]
fn refusals_say_why() {
    let message = |url| check_url(url, false).unwrap_err().to_string();
    assert_eq!(
        message("https://10.1.2.3/"),
        "webhook host 10.1.2.3 is refused: private (10.0.0.0/8)"
    );
    assert_eq!(
        message("https://0177.0.0.1/"),
        "webhook host 127.0.0.1 is refused: loopback (127.0.0.0/8)"
    );
    assert_eq!(
        message("http://hook.example.com/"),
        "webhook url must use https, not http"
    );
    assert_eq!(
        message("https://localhost:3000/"),
        "webhook host localhost is refused: a loopback name"
    );
    assert!(message("https://[::ffff:127.0.0.1]/").contains("IPv4-mapped"));
}

#[test]
fn public_https_urls_pass() {
    for url in [
        "https://hook.eu1.make.com/abcdef",
        "https://example.com:8443/path?q=1",
        "https://93.184.215.14/hook",
        "https://[2606:4700::1111]/hook",
        "https://localhost.example.com/hook",
        "https://172.32.0.1/hook",
        "https://100.128.0.1/hook",
    ] {
        assert_eq!(check_url(url, false), Ok(()), "{url}");
    }
}

#[test]
fn the_insecure_opt_in_allows_http_and_loopback_but_still_needs_a_url() {
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.1/hook",
        "https://[::1]/hook",
    ] {
        assert_eq!(check_url(url, true), Ok(()), "{url}");
    }
    assert!(matches!(
        check_url("ftp://127.0.0.1/", true),
        Err(UrlError::Scheme { .. })
    ));
    assert!(matches!(
        check_url("not a url", true),
        Err(UrlError::Invalid { .. })
    ));
}

/// A name that resolves to loopback is refused at DNS time, on the resolved address.
#[tokio::test]
async fn the_resolver_refuses_a_name_resolving_to_loopback() {
    let name = "localhost".parse().unwrap();
    let error = GuardedResolver::lookup(name).await.unwrap_err();
    let refusal = error
        .downcast_ref::<UrlError>()
        .unwrap_or_else(|| panic!("not a refusal: {error}"));
    match refusal {
        UrlError::ForbiddenAddress { host, address, .. } => {
            assert_eq!(host, "localhost");
            assert!(address.is_loopback(), "{address}");
        }
        other => panic!("{other:?}"),
    }
    let text = refusal.to_string();
    assert!(
        text.contains("localhost") && text.contains("loopback"),
        "{text}"
    );
}

/// Through the `reqwest::dns::Resolve` trait, the way reqwest calls it.
#[tokio::test]
async fn the_resolve_trait_refuses_too() {
    use reqwest::dns::Resolve;
    let result = GuardedResolver.resolve("localhost".parse().unwrap()).await;
    let error = result.err().expect("localhost must be refused");
    assert!(error.downcast_ref::<UrlError>().is_some(), "{error}");
}
