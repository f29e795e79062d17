//! The built site's files, served from memory with validators and the security headers.

use reqwest::{StatusCode, header};

use super::helpers::{Backend, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_files_are_served_from_memory_with_an_etag_and_304_when_current() {
    let site = tempfile::tempdir().expect("site dir");
    std::fs::create_dir(site.path().join("pkg")).expect("pkg");
    std::fs::write(site.path().join("pkg/app.css"), "body { margin: 0 }").expect("css");
    std::fs::write(site.path().join("pkg/app.wasm"), b"\0asm\x01\0\0\0").expect("wasm");
    let root = site.path().display().to_string();
    let app = spawn_app_with(Backend::Sqlite, &[("LEPTOS_SITE_ROOT", root.as_str())]).await;

    let css = app.get("/pkg/app.css").await;
    assert_eq!(css.status(), StatusCode::OK);
    let headers = css.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let etag = headers[header::ETAG].clone();
    assert_eq!(css.text().await.expect("body"), "body { margin: 0 }");
    assert_eq!(
        app.get("/pkg/app.wasm").await.headers()[header::CONTENT_TYPE],
        "application/wasm"
    );

    let revalidated = app
        .client
        .get(app.url("/pkg/app.css"))
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .expect("GET");
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    let stale = app
        .client
        .get(app.url("/pkg/app.css"))
        .header(header::IF_NONE_MATCH, "\"something-else\"")
        .send()
        .await
        .expect("GET");
    assert_eq!(stale.status(), StatusCode::OK);

    let head = app
        .client
        .head(app.url("/pkg/app.css"))
        .send()
        .await
        .expect("HEAD");
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()[header::CONTENT_LENGTH], "18");
    assert_eq!(
        app.get("/pkg/missing.css").await.status(),
        StatusCode::NOT_FOUND,
        "an unknown path goes on to the app"
    );
}
