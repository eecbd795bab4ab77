//! Who is asking: the client's address as the connection shows it or, when
//! the connection comes from a proxy we trust, as that proxy forwards it.
//!
//! Forwarding headers are read right to left and only through trusted
//! proxies: the rightmost address a trusted proxy did not add is the client.
//! A client can put anything at the left of `X-Forwarded-For`, so nothing
//! left of the first untrusted hop is believed.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use super::AppState;

/// The client's address (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Proxies whose forwarding headers are believed (`TRUSTED_PROXIES`): a
/// comma-separated list of addresses or CIDR ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Loopback only: a proxy on the same machine (the usual nginx in front).
    pub fn loopback() -> Self {
        Self(vec![
            IpNet::from_str("127.0.0.0/8").unwrap_or_default(),
            IpNet::from_str("::1/128").unwrap_or_default(),
        ])
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }
}

impl Default for TrustedProxies {
    fn default() -> Self {
        Self::loopback()
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{item:?} is not an IP address or CIDR range"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl std::fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let items: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&items.join(","))
    }
}

/// The client of the request whose head is `parts`.
pub fn of_request(parts: &Parts, trusted: &TrustedProxies) -> IpAddr {
    // Served without connection info (in-process tests): an address of its
    // own that no real client has.
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    client_ip(peer, &parts.headers, trusted)
}

/// The client of a request that came over a connection from `peer`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let mut client = peer.to_canonical();
    if !trusted.trusts(client) {
        return client;
    }
    for hop in forwarded_hops(headers).into_iter().rev() {
        let Some(hop) = hop else {
            // Unreadable or hidden: nothing to its left can be trusted.
            return client;
        };
        client = hop.to_canonical();
        if !trusted.trusts(client) {
            return client;
        }
    }
    client
}

/// The addresses a chain of proxies forwarded, leftmost (oldest) first:
/// `X-Forwarded-For` if present, else `Forwarded: for=…`. `None` marks a hop
/// that cannot be read.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded_for: Vec<_> = headers.get_all("x-forwarded-for").iter().collect();
    if !forwarded_for.is_empty() {
        return forwarded_for
            .into_iter()
            .flat_map(|value| match value.to_str() {
                Ok(text) => text.split(',').map(|hop| parse_hop(hop.trim())).collect(),
                Err(_) => vec![None],
            })
            .collect();
    }
    headers
        .get_all("forwarded")
        .iter()
        .flat_map(|value| match value.to_str() {
            Ok(text) => text
                .split(',')
                .map(|element| {
                    element
                        .split(';')
                        .find_map(|pair| {
                            let (name, value) = pair.trim().split_once('=')?;
                            name.trim()
                                .eq_ignore_ascii_case("for")
                                .then(|| parse_hop(value.trim().trim_matches('"')))
                        })
                        .flatten()
                })
                .collect(),
            Err(_) => vec![None],
        })
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:443`, `2001:db8::1` or `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|rest| rest.split(']').next())
                .and_then(|inner| inner.parse().ok())
        })
}

impl<S> FromRequestParts<S> for ClientIp
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        let state = AppState::from_ref(state);
        Ok(Self(of_request(parts, &state.settings.trusted_proxies)))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_direct_client_is_its_connection_whatever_it_claims() {
        let claims = headers(&[("x-forwarded-for", "10.9.9.9")]);
        assert_eq!(
            client_ip(ip("203.0.113.5"), &claims, &TrustedProxies::default()),
            ip("203.0.113.5")
        );
    }

    #[test]
    fn through_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let trusted: TrustedProxies = "127.0.0.1, 10.0.0.0/8".parse().unwrap();
        // The client forged the leftmost entry; the proxies appended the rest.
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &chain, &trusted),
            ip("198.51.100.7")
        );
        let forwarded = headers(&[(
            "forwarded",
            "for=1.2.3.4, for=\"[2001:db8::7]:443\";proto=https",
        )]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &forwarded, &trusted),
            ip("2001:db8::7")
        );
        // An unreadable hop stops the walk at the last trusted one.
        let hidden = headers(&[("forwarded", "for=198.51.100.7, for=_hidden")]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &hidden, &trusted),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn trusted_proxies_are_read_from_a_list() {
        assert!("".parse::<TrustedProxies>().unwrap().0.is_empty());
        assert!("10.0.0.0/8,::1".parse::<TrustedProxies>().is_ok());
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("nginx".parse::<TrustedProxies>().is_err());
    }
}
