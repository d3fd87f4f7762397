//! The outbound HTTP client webhooks go through: a timeout on every request, a cap on how much
//! of an answer is read, redirects followed only within the same host, and (when configured)
//! no private, loopback or link-local targets, checked on the addresses a name resolves to so
//! that DNS cannot smuggle one in.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use reqwest::Url;

/// At most this many redirects, all to the webhook URL's own host.
const MAX_REDIRECTS: usize = 3;

/// Builds the client (TLS with rustls and the Mozilla roots); `block_private` refuses targets
/// that are not public addresses.
pub fn client(timeout: Duration, block_private: bool) -> reqwest::Result<reqwest::Client> {
    let same_host = redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().and_then(Url::host_str);
        if attempt.previous().len() > MAX_REDIRECTS || attempt.url().host_str() != first {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(same_host)
        .user_agent(concat!("hilo-webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(GuardedResolver { block_private }))
        .build()
}

/// Why `url` may not be a webhook target, if it may not: not http(s), or (with
/// `block_private`) a literal private address, which no resolver sees.
pub fn refuse(url: &str, block_private: bool) -> Option<String> {
    let Ok(parsed) = Url::parse(url) else {
        return Some("the webhook URL is not a URL".to_owned());
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Some("the webhook URL is not http(s)".to_owned());
    }
    // `host_str` writes IPv6 literals in brackets.
    let host = parsed.host_str().unwrap_or_default();
    let literal = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    match literal {
        Some(ip) if block_private && !is_public(ip) => Some(format!(
            "{ip} is not a public address (--webhook-block-private)"
        )),
        _ => None,
    }
}

/// Whether `ip` is a globally routable address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                // 100.64.0.0/10, carrier-grade NAT.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                // fc00::/7 unique local, fe80::/10 link-local.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

struct GuardedResolver {
    block_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let block_private = self.block_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !block_private || is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_targets_are_refused_only_when_asked() {
        assert_eq!(refuse("http://127.0.0.1:9/hook", false), None);
        assert!(refuse("http://127.0.0.1:9/hook", true).is_some());
        assert!(refuse("http://[::1]/hook", true).is_some());
        assert!(refuse("http://10.1.2.3/hook", true).is_some());
        assert_eq!(refuse("http://8.8.8.8/hook", true), None);
        assert!(refuse("ftp://example.com/", false).is_some());
        assert!(refuse("not a url", false).is_some());
        assert!(!is_public("169.254.169.254".parse().unwrap()));
        assert!(!is_public("::ffff:192.168.0.1".parse().unwrap()));
        assert!(!is_public("fd00::1".parse().unwrap()));
        assert!(is_public("2606:4700::1111".parse().unwrap()));
    }
}
