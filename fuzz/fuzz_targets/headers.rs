//! Any bytes as the Cookie and X-Forwarded-For headers: the session cookies and the client
//! address are read without panicking.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use http::{HeaderMap, HeaderValue, header::COOKIE};
use latchkey::server::{auth::cookies::CookiePolicy, http::client::client_address};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, value.clone());
    headers.insert("x-forwarded-for", value);
    for secure in [false, true] {
        let _ = CookiePolicy { secure }.read(&headers);
    }
    let proxy = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let trusted: [ipnet::IpNet; 2] = ["127.0.0.0/8".parse().expect("net"), "10.0.0.0/8".parse().expect("net")];
    let _ = client_address(Some(proxy), &headers, &trusted);
});
