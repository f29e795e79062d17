//! The built site's static files (WASM, JS, CSS, public assets), read into memory once at
//! start and served from there with an ETag: a request for one costs no file system call.
//! Serving them through `ServeDir` per request (Leptos's fallback) took several trips to the
//! blocking pool each and was far slower than the JSON API (figures in bench/README.md).

use std::{collections::HashMap, path::Path, sync::Arc};

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

struct Asset {
    body: Bytes,
    content_type: HeaderValue,
    etag: HeaderValue,
}

/// Every file under the site root, by URL path (`/pkg/latchkey.wasm`).
#[derive(Clone, Default)]
pub struct Assets {
    files: Arc<HashMap<String, Asset>>,
}

impl Assets {
    /// Reads every file under `root`. A root that does not exist yet (tests run before the
    /// site is built) gives no assets, and requests fall through to the app.
    ///
    /// # Errors
    /// The I/O error reading a file or directory that exists.
    pub fn load(root: &Path) -> std::io::Result<Self> {
        let mut files = HashMap::new();
        if root.is_dir() {
            read_dir(root, root, &mut files)?;
        }
        Ok(Self {
            files: Arc::new(files),
        })
    }
}

fn read_dir(root: &Path, dir: &Path, files: &mut HashMap<String, Asset>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            read_dir(root, &path, files)?;
            continue;
        }
        let Ok(relative) = path.strip_prefix(root) else {
            continue;
        };
        let Some(relative) = relative.to_str() else {
            continue; // not reachable by a URL path anyway
        };
        let body = Bytes::from(std::fs::read(&path)?);
        let digest = hex::encode(&Sha256::digest(&body)[..16]);
        let etag = HeaderValue::from_str(&format!("\"{digest}\""))
            .unwrap_or(HeaderValue::from_static("\"\""));
        files.insert(
            format!("/{relative}"),
            Asset {
                body,
                content_type: HeaderValue::from_static(content_type(&path)),
                etag,
            },
        );
    }
    Ok(())
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("wasm") => "application/wasm",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Answers GET and HEAD for a known file (304 when the client's copy is current); anything
/// else goes on to the app.
pub async fn serve(State(assets): State<Assets>, req: Request, next: Next) -> Response {
    let Some(asset) = assets.files.get(req.uri().path()) else {
        return next.run(req).await;
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return next.run(req).await;
    }
    let current = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == asset.etag || tag.trim() == "*");
    let headers = [
        (header::CONTENT_TYPE, asset.content_type.clone()),
        (header::ETAG, asset.etag.clone()),
        // File names are not hashed: browsers may keep a copy but must revalidate it.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if current {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    // For HEAD, hyper sends the headers (Content-Length included) and leaves the body out.
    (headers, Body::from(asset.body.clone())).into_response()
}
