//! GraphiQL on `GET /graphql`, served from files embedded in the binary
//! (`api/assets/graphiql/`, see its README.md), so it works with no network
//! and under a strict Content-Security-Policy: no inline script, no CDN.
//!
//! Routes: `GET /graphql` → [`page`], `GET /graphql/assets/{file}` → [`asset`].

use actix_web::http::header;
use actix_web::{HttpResponse, web};

/// The policy sent with the page. GraphiQL's stylesheet embeds its fonts
/// and a few images as `data:` URIs, and its editors set inline styles.
pub const CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; \
                       img-src 'self' data:; font-src 'self' data:";

const INDEX: &str = include_str!("../../assets/graphiql/index.html");

/// The embedded files, by the exact name the page asks for.
const ASSETS: &[(&str, &[u8])] = &[
    (
        "graphiql.min.js",
        include_bytes!("../../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        include_bytes!("../../assets/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
    ("init.js", include_bytes!("../../assets/graphiql/init.js")),
    ("page.css", include_bytes!("../../assets/graphiql/page.css")),
];

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `GET /graphql`: the GraphiQL page.
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(INDEX)
}

/// `GET /graphql/assets/{file}`: one of the embedded files, or 404.
pub async fn asset(path: web::Path<String>) -> HttpResponse {
    let name = path.into_inner();
    match ASSETS.iter().find(|(n, _)| *n == name) {
        Some((n, bytes)) => HttpResponse::Ok()
            .content_type(content_type(n))
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(*bytes),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("not found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn page_loads_only_embedded_files() {
        let res = page().await;
        assert_eq!(
            res.headers().get(header::CONTENT_SECURITY_POLICY).unwrap(),
            CSP
        );
        let body = actix_web::body::to_bytes(res.into_body()).await.unwrap();
        let html = std::str::from_utf8(&body).unwrap();
        assert!(!html.contains("<script>"), "no inline script");
        for (name, _) in ASSETS {
            assert!(html.contains(&format!("/graphql/assets/{name}")), "{name}");
        }
    }

    #[actix_web::test]
    async fn unknown_asset_is_404() {
        let res = asset(web::Path::from("../Cargo.toml".to_owned())).await;
        assert_eq!(res.status(), actix_web::http::StatusCode::NOT_FOUND);
        let res = asset(web::Path::from("init.js".to_owned())).await;
        assert_eq!(res.status(), actix_web::http::StatusCode::OK);
    }
}
