//! Who is on the other end: the socket's peer address, or, when that peer is a proxy listed in
//! TRUSTED_PROXIES, the address that proxy appended to `X-Forwarded-For`. Throttling keys on it.

use std::net::{IpAddr, Ipv4Addr};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{HeaderMap, request::Parts},
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;

use super::limits::Peer;
use crate::{
    error::AppError,
    server::{services::devices::Client, state::AppState},
};

/// The client's address as far as this server can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Middleware: records the [`ClientAddr`] of each request in its extensions.
pub async fn identify(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .map(|info| info.0.0.ip());
    let addr = client_address(peer, req.headers(), &state.settings.site.trusted_proxies);
    req.extensions_mut().insert(ClientAddr(addr));
    next.run(req).await
}

/// The peer, unless it is a trusted proxy: then the rightmost `X-Forwarded-For` entry that is
/// not itself a trusted proxy (entries further left were written by the client and prove
/// nothing). Without a peer (a request not from a socket) the unspecified address.
pub fn client_address(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let mut client = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&client) {
        return client;
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for hop in forwarded.into_iter().rev() {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Self>().copied().ok_or_else(|| {
            tracing::error!("client address middleware missing");
            AppError::Internal
        })
    }
}

/// The client as the use cases see it: its address and User-Agent.
pub struct RequestClient(pub Client);

impl RequestClient {
    /// From a request's parts (after the [`identify`] middleware).
    ///
    /// # Errors
    /// [`AppError::Internal`] if the middleware did not run.
    pub fn of(parts: &Parts) -> Result<Client, AppError> {
        let ClientAddr(ip) = parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .ok_or_else(|| {
                tracing::error!("client address middleware missing");
                AppError::Internal
            })?;
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        Ok(Client::new(ip, user_agent))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestClient {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::of(parts).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use axum::http::{HeaderMap, HeaderValue};
    use ipnet::IpNet;

    use super::client_address;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_str(value).expect("header"),
        );
        headers
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let headers = forwarded("203.0.113.9");
        assert_eq!(
            client_address(Some(ip("198.51.100.1")), &headers, &[]),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_spoofed_entries_are_skipped() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        // The client claimed 1.1.1.1; the outer proxy saw 203.0.113.9; the inner one 10.0.0.7.
        let headers = forwarded("1.1.1.1, 203.0.113.9, 10.0.0.7");
        assert_eq!(
            client_address(Some(ip("10.0.0.2")), &headers, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_set_its_address() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let headers = forwarded("10.0.0.9");
        assert_eq!(
            client_address(Some(ip("198.51.100.1")), &headers, &trusted),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn garbage_in_the_header_stops_the_walk_at_the_last_good_hop() {
        let trusted: Vec<IpNet> = vec!["127.0.0.1/32".parse().expect("net")];
        assert_eq!(
            client_address(Some(ip("127.0.0.1")), &forwarded("nonsense"), &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(
            client_address(Some(ip("127.0.0.1")), &HeaderMap::new(), &trusted),
            ip("127.0.0.1")
        );
    }
}
