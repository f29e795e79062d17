//! Form bodies must be valid UTF-8 once percent-decoded. Leptos's form decoding would replace
//! bad bytes with U+FFFD and go on, so a mangled value could reach a handler; here such a
//! request gets a clear 400 instead.

use axum::{
    body::{Body, to_bytes},
    extract::Request,
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::error::AppError;

/// The middleware. Bodies are already capped (413) by the layer outside this one.
pub async fn require_utf8(req: Request, next: Next) -> Response {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return AppError::PayloadTooLarge.into_response();
    };
    if !decodes_to_utf8(&bytes) {
        return AppError::BadRequest("The form could not be read: it is not valid UTF-8.".into())
            .into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Whether every name and value of an `application/x-www-form-urlencoded` body percent-decodes
/// to UTF-8.
fn decodes_to_utf8(body: &[u8]) -> bool {
    body.split(|b| *b == b'&')
        .flat_map(|pair| pair.splitn(2, |b| *b == b'='))
        .all(|part| percent_decode(part).is_some_and(|bytes| std::str::from_utf8(&bytes).is_ok()))
}

/// Percent-decodes (and turns `+` into a space); `None` for a malformed escape.
fn percent_decode(part: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(part.len());
    let mut bytes = part.iter();
    while let Some(&b) = bytes.next() {
        out.push(match b {
            b'+' => b' ',
            b'%' => {
                let high = char::from(*bytes.next()?).to_digit(16)?;
                let low = char::from(*bytes.next()?).to_digit(16)?;
                u8::try_from(high * 16 + low).ok()?
            }
            other => other,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::decodes_to_utf8;

    #[test]
    fn valid_forms_pass_and_bad_bytes_or_escapes_do_not() {
        assert!(decodes_to_utf8(
            b"login=ada&password=correct+horse%20battery"
        ));
        assert!(decodes_to_utf8("name=J%C3%BCrgen&x=".as_bytes()));
        assert!(decodes_to_utf8(b""));
        assert!(!decodes_to_utf8(b"login=%ff%fe"));
        assert!(!decodes_to_utf8(b"login=%zz"));
        assert!(!decodes_to_utf8(b"login=%4"));
        assert!(!decodes_to_utf8(b"login=\xff"));
    }
}
