//! The OpenAPI document matches the router that serves the API, and the
//! docs page is served from the binary.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, header};
use serde_json::Value;

use crate::common::{Backend, TestApp};

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

async fn document(app: &TestApp) -> Value {
    let response = app.client().get("/api/v1/openapi.json").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.headers[header::CONTENT_TYPE], "application/json");
    response.body
}

/// Each route of the table is documented with exactly the methods it
/// serves (a method is served when the router does not answer 405), and
/// nothing else is documented.
#[tokio::test]
async fn every_served_operation_is_documented_and_nothing_else() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let document = document(&app).await;
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        document["openapi"]
    );
    let paths = document["paths"].as_object().unwrap();
    let mut served_paths = BTreeSet::new();
    for route in server::api::v1::routes() {
        let path = format!("/api/v1{}", route.path);
        served_paths.insert(path.clone());
        let concrete = path.replace("{id}", "1").replace("{username}", "nobody");
        let mut served = BTreeSet::new();
        for method in METHODS {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
            let answer = app
                .client()
                .send(method.clone(), &concrete, headers, Body::from("{}"))
                .await;
            if answer.status != StatusCode::METHOD_NOT_ALLOWED {
                served.insert(method.as_str().to_ascii_lowercase());
            }
        }
        let documented: BTreeSet<String> = paths
            .get(&path)
            .unwrap_or_else(|| panic!("{path} is served but not documented"))
            .as_object()
            .unwrap()
            .keys()
            .filter(|key| METHODS.iter().any(|m| m.as_str().eq_ignore_ascii_case(key)))
            .cloned()
            .collect();
        assert_eq!(documented, served, "{path}: documented vs served methods");
    }
    let documented_paths: BTreeSet<String> = paths.keys().cloned().collect();
    assert_eq!(documented_paths, served_paths);
}

/// Session routes say so (401 and the cookie scheme); public ones do not;
/// every `$ref` resolves; the event stream's frames are components.
#[tokio::test]
async fn the_document_is_complete_and_self_consistent() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let document = document(&app).await;
    for route in server::api::v1::routes() {
        let path = format!("/api/v1{}", route.path);
        for (method, operation) in document["paths"][&path].as_object().unwrap() {
            let needs_session = route.access == server::api::v1::Access::Session;
            assert_eq!(
                operation["responses"].get("401").is_some(),
                needs_session || path.ends_with("/login"),
                "{method} {path}: 401"
            );
            assert_eq!(
                operation.get("security").is_some(),
                needs_session,
                "{method} {path}: security"
            );
            for status in ["414", "431", "503"] {
                assert!(
                    operation["responses"].get(status).is_some(),
                    "{method} {path}: {status}"
                );
            }
            assert_eq!(
                operation["responses"].get("403").is_some(),
                method != "get",
                "{method} {path}: 403 for cross-site changes"
            );
            assert!(
                operation["operationId"].is_string(),
                "{method} {path}: operationId"
            );
        }
    }
    let schemas = document["components"]["schemas"].as_object().unwrap();
    let mut references = Vec::new();
    collect_refs(&document, &mut references);
    assert!(!references.is_empty());
    for reference in references {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {reference}"));
        assert!(schemas.contains_key(name), "{reference} does not resolve");
    }
    for frame in ["ServerFrame", "Event", "EventBody", "Signal", "ClientFrame"] {
        assert!(schemas.contains_key(frame), "{frame} missing");
    }
    let operation_ids: Vec<&str> = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|operation| operation["operationId"].as_str())
        .collect();
    let unique: BTreeSet<&str> = operation_ids.iter().copied().collect();
    assert_eq!(unique.len(), operation_ids.len(), "{operation_ids:?}");
}

fn collect_refs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "$ref" {
                    into.push(inner.as_str().unwrap().to_owned());
                } else {
                    collect_refs(inner, into);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, into)),
        _ => {}
    }
}

/// The docs page is Swagger UI, served from the binary with a policy that
/// lets it run and load nothing from elsewhere.
#[tokio::test]
async fn the_docs_page_is_served_from_the_binary() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let page = app.client().get("/api/docs/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    let policy = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("http"), "{policy}");
    let initializer = app.client().get("/api/docs/swagger-initializer.js").await;
    assert_eq!(initializer.status, StatusCode::OK);
    assert!(
        initializer.text.contains("/api/v1/openapi.json"),
        "{}",
        initializer.text
    );
    let bundle = app.client().get("/api/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status, StatusCode::OK);
    assert!(bundle.text.len() > 100_000, "{}", bundle.text.len());
}
