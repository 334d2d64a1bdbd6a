//! The SSRF guard: which webhook URLs and addresses fms refuses to contact.
//!
//! Secure mode (the default) accepts only `https` URLs whose host is neither a loopback name
//! nor an address in a private, loopback, link-local, CGNAT, multicast, documentation,
//! reserved or unspecified range, including the IPv4-mapped, IPv4-compatible, NAT64 and 6to4
//! IPv6 forms of those. IP literals are checked here, when the URL is parsed; names are
//! checked again on every resolution by [`GuardedResolver`](crate::GuardedResolver).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::Name;

/// Why a webhook URL or address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// Not a URL at all.
    #[error("invalid webhook url: {reason}")]
    Invalid {
        /// The parser's complaint.
        reason: String,
    },
    /// A scheme other than https (or http with the insecure opt-in).
    #[error("webhook url must use https, not {scheme}")]
    Scheme {
        /// The scheme found.
        scheme: String,
    },
    /// The URL has no host.
    #[error("webhook url has no host")]
    NoHost,
    /// The host is refused by name or as an IP literal.
    #[error("webhook host {host} is refused: {reason}")]
    ForbiddenHost {
        /// The host as written in the normalised URL.
        host: String,
        /// Which rule refused it.
        reason: String,
    },
    /// The host resolved to a refused address (checked on every DNS resolution).
    #[error("webhook host {host} resolves to {address}, which is refused: {reason}")]
    ForbiddenAddress {
        /// The name looked up.
        host: String,
        /// The offending address.
        address: IpAddr,
        /// Which rule refused it.
        reason: String,
    },
    /// The host resolved to no address.
    #[error("webhook host {host} resolves to no address")]
    NoAddress {
        /// The name looked up.
        host: String,
    },
}

/// Checks a webhook URL without contacting anything: for save-time validation, and the first
/// check of every send. With `allow_insecure`, http and every address are accepted (local
/// development and tests only); the URL must still parse and have a host.
///
/// ```
/// use fms_http::check_url;
/// assert!(check_url("https://hook.example.com/abc", false).is_ok());
/// assert!(check_url("http://hook.example.com/abc", false).is_err());
/// assert!(check_url("https://0177.0.0.1/", false).is_err()); // octal 127.0.0.1
/// assert!(check_url("http://127.0.0.1:8080/", true).is_ok());
/// ```
pub fn check_url(url: &str, allow_insecure: bool) -> Result<(), UrlError> {
    parse_checked(url, allow_insecure).map(|_| ())
}

/// [`check_url`], returning the parsed (normalised) URL.
pub(crate) fn parse_checked(url: &str, allow_insecure: bool) -> Result<Url, UrlError> {
    let parsed = Url::parse(url.trim()).map_err(|e| UrlError::Invalid {
        reason: e.to_string(),
    })?;
    match (parsed.scheme(), allow_insecure) {
        ("https", _) | ("http", true) => {}
        (scheme, _) => {
            return Err(UrlError::Scheme {
                scheme: scheme.to_owned(),
            });
        }
    }
    let host = parsed.host().ok_or(UrlError::NoHost)?;
    if allow_insecure {
        return Ok(parsed);
    }
    let refuse = |reason: String| UrlError::ForbiddenHost {
        host: host.to_string(),
        reason,
    };
    match host {
        url::Host::Domain(name) => {
            if let Some(reason) = forbidden_name(name) {
                return Err(refuse(reason.to_owned()));
            }
        }
        url::Host::Ipv4(ip) => {
            if let Some(reason) = forbidden_reason(IpAddr::V4(ip)) {
                return Err(refuse(reason));
            }
        }
        url::Host::Ipv6(ip) => {
            if let Some(reason) = forbidden_reason(IpAddr::V6(ip)) {
                return Err(refuse(reason));
            }
        }
    }
    Ok(parsed)
}

/// Names refused before any lookup: `localhost` and `*.localhost` (RFC 6761), with or
/// without the trailing dot.
fn forbidden_name(name: &str) -> Option<&'static str> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    (name == "localhost" || name.ends_with(".localhost")).then_some("a loopback name")
}

/// Checks every address a name resolved to; any refused address refuses the whole answer
/// (so a mixed public/private answer cannot be used to reach the private one).
pub fn check_resolved(host: &Name, addrs: &[SocketAddr]) -> Result<(), UrlError> {
    let host = host.as_str();
    if addrs.is_empty() {
        return Err(UrlError::NoAddress {
            host: host.to_owned(),
        });
    }
    for addr in addrs {
        if let Some(reason) = forbidden_reason(addr.ip()) {
            return Err(UrlError::ForbiddenAddress {
                host: host.to_owned(),
                address: addr.ip(),
                reason,
            });
        }
    }
    // Normally refused before the lookup already; kept so the resolver stands on its own.
    if let Some(reason) = forbidden_name(host) {
        return Err(UrlError::ForbiddenHost {
            host: host.to_owned(),
            reason: reason.to_owned(),
        });
    }
    Ok(())
}

/// Why `ip` must not be contacted in secure mode, or `None` for a public address.
///
/// ```
/// use std::net::IpAddr;
/// let ip = |s: &str| s.parse::<IpAddr>().unwrap();
/// assert_eq!(fms_http::forbidden_reason(ip("93.184.215.14")), None);
/// assert!(fms_http::forbidden_reason(ip("169.254.169.254")).is_some());
/// assert!(fms_http::forbidden_reason(ip("::ffff:10.0.0.1")).is_some());
/// ```
pub fn forbidden_reason(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4).map(str::to_owned),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let reason = match (a, b, c) {
        _ if ip.is_unspecified() => "unspecified (0.0.0.0)",
        _ if ip.is_broadcast() => "broadcast",
        (0, _, _) => "in 'this network' (0.0.0.0/8)",
        (10, _, _) => "private (10.0.0.0/8)",
        (172, 16..=31, _) => "private (172.16.0.0/12)",
        (192, 168, _) => "private (192.168.0.0/16)",
        (127, _, _) => "loopback (127.0.0.0/8)",
        (169, 254, _) => "link-local (169.254.0.0/16, cloud metadata)",
        (100, 64..=127, _) => "shared address space (CGNAT, 100.64.0.0/10)",
        (192, 0, 0) => "IETF protocol assignments (192.0.0.0/24)",
        (192, 0, 2) => "documentation (192.0.2.0/24)",
        (198, 51, 100) => "documentation (198.51.100.0/24)",
        (203, 0, 113) => "documentation (203.0.113.0/24)",
        (198, 18..=19, _) => "benchmarking (198.18.0.0/15)",
        (224..=239, _, _) => "multicast (224.0.0.0/4)",
        (240..=255, _, _) => "reserved (240.0.0.0/4)",
        _ => return None,
    };
    Some(reason)
}

fn v6_reason(ip: Ipv6Addr) -> Option<String> {
    let s = ip.segments();
    let embedded = |v4: Ipv4Addr, form: &str| {
        v4_reason(v4).map(|reason| format!("{form} of {v4}, which is {reason}"))
    };
    if ip.is_unspecified() {
        return Some("unspecified (::)".to_owned());
    }
    if ip.is_loopback() {
        return Some("loopback (::1)".to_owned());
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return embedded(v4, "the IPv4-mapped form");
    }
    let low_v4 = v4_from(s[6], s[7]);
    let reason = match s {
        // ::/96, IPv4-compatible (deprecated; :: and ::1 handled above).
        [0, 0, 0, 0, 0, 0, _, _] => "a deprecated IPv4-compatible address (::/96)",
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => {
            return embedded(low_v4, "the NAT64 form (64:ff9b::/96)");
        }
        [0x64, 0xff9b, 1, ..] => "local-use NAT64 (64:ff9b:1::/48)",
        [0x2002, hi, lo, ..] => {
            return embedded(v4_from(hi, lo), "the 6to4 form (2002::/16)");
        }
        [0x2001, 0, ..] => "Teredo tunnelling (2001::/32)",
        [0x2001, 0xdb8, ..] => "documentation (2001:db8::/32)",
        [0x100, 0, 0, 0, ..] => "discard-only (100::/64)",
        [first, ..] if first & 0xfff0 == 0x3ff0 => "documentation (3fff::/20)",
        [first, ..] if first & 0xfe00 == 0xfc00 => "unique local (fc00::/7)",
        [first, ..] if first & 0xffc0 == 0xfe80 => "link-local (fe80::/10)",
        [first, ..] if first & 0xffc0 == 0xfec0 => "site-local (fec0::/10)",
        [first, ..] if first & 0xff00 == 0xff00 => "multicast (ff00::/8)",
        _ => return None,
    };
    Some(reason.to_owned())
}

/// The IPv4 address carried in two IPv6 segments.
fn v4_from(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn reason(ip: &str) -> Option<String> {
        forbidden_reason(ip.parse().unwrap())
    }

    #[test]
    fn address_table() {
        let refused = [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "127.1.2.3",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::8.8.8.8",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "2001::1",
            "2001:db8::1",
            "3fff::1",
            "100::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
        ];
        for ip in refused {
            assert!(reason(ip).is_some(), "{ip} should be refused");
        }
        let allowed = [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.215.14",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "192.169.0.1",
            "169.253.1.1",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ];
        for ip in allowed {
            assert_eq!(reason(ip), None, "{ip} should be allowed");
        }
    }

    #[test]
    fn reasons_name_the_embedded_address() {
        let r = reason("::ffff:127.0.0.1").unwrap();
        assert!(r.contains("127.0.0.1") && r.contains("loopback"), "{r}");
        let r = reason("64:ff9b::a9fe:a9fe").unwrap();
        assert!(r.contains("169.254.169.254"), "{r}");
    }

    #[test]
    fn names() {
        for name in ["localhost", "LOCALHOST.", "foo.localhost", "a.b.localhost."] {
            assert!(forbidden_name(name).is_some(), "{name}");
        }
        for name in ["localhost.example.com", "notlocalhost", "example.com"] {
            assert!(forbidden_name(name).is_none(), "{name}");
        }
    }

    #[test]
    fn resolved_answers() {
        let name: Name = "hook.example.com".parse().unwrap();
        let addr = |s: &str| SocketAddr::new(s.parse().unwrap(), 443);
        assert_eq!(check_resolved(&name, &[addr("8.8.8.8")]), Ok(()));
        assert!(matches!(
            check_resolved(&name, &[addr("8.8.8.8"), addr("10.0.0.1")]),
            Err(UrlError::ForbiddenAddress { .. })
        ));
        assert!(matches!(
            check_resolved(&name, &[]),
            Err(UrlError::NoAddress { .. })
        ));
        let message = check_resolved(&name, &[addr("::1")])
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("hook.example.com") && message.contains("::1"),
            "{message}"
        );
    }
}
