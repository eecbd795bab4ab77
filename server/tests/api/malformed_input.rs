//! Malformed input never gets a 5xx: generated requests to every REST
//! route and every server function (random methods, path parameters, query
//! strings, content types and bodies; logged in or not) are answered below
//! 500, and every refusal carries a JSON body that says what is wrong.
//!
//! The generator is seeded (the run is the same every time, so it cannot
//! flake); `FUZZ_CASES` runs more. A failure prints the request to replay.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use crate::common::{Backend, Client, TestApp};

/// Every field name any endpoint or server function reads, so generated
/// bodies reach the parsers behind the first "missing field".
const FIELDS: &[&str] = &[
    "username",
    "password",
    "email",
    "recipient",
    "body",
    "client_id",
    "token",
    "new_password",
    "current_password",
    "before",
    "after",
    "since",
    "page",
    "with",
    "status",
    "send_read_receipts",
    "query",
    "cursor",
    "id",
    "remember",
];

/// Strings that have broken parsers elsewhere.
fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("9223372036854775808".to_owned()),
        Just("-9223372036854775809".to_owned()),
        Just("1e309".to_owned()),
        Just("NaN".to_owned()),
        Just("null".to_owned()),
        Just("../../etc/passwd".to_owned()),
        Just("%00%ff%c0%af".to_owned()),
        Just("\u{202e}\u{0}\u{fffd}".to_owned()),
        Just("a".repeat(5_000)),
        "[ -~]{0,40}",
        any::<String>().prop_map(|text| text.chars().take(60).collect()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|number| json!(number)),
        Just(json!(u64::MAX)),
        nasty_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((field(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(FIELDS).prop_map(str::to_owned),
        1 => "[a-z_]{1,12}",
    ]
}

#[derive(Debug, Clone)]
enum Payload {
    Empty,
    Bytes(Vec<u8>),
    Json(Value),
    Form(Vec<(String, String)>),
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        1 => Just(Payload::Empty),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Payload::Bytes),
        3 => json_value().prop_map(Payload::Json),
        3 => prop::collection::vec((field(), nasty_string()), 0..6).prop_map(Payload::Form),
    ]
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop::sample::select(vec![
        None,
        Some("application/json"),
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
        Some("application/json; charset=utf-16"),
        Some("application/cbor"),
    ])
}

#[derive(Debug, Clone)]
struct Attempt {
    target: usize,
    /// A method the target serves (its `n`th, modulo), or `other_method`.
    method_pick: usize,
    other_method: Option<Method>,
    parameter: String,
    query: Vec<(String, String)>,
    content_type: Option<&'static str>,
    payload: Payload,
    logged_in: bool,
}

fn attempt(targets: usize) -> impl Strategy<Value = Attempt> {
    (
        0..targets,
        any::<usize>(),
        prop::option::weighted(
            0.15,
            prop::sample::select(vec![
                Method::GET,
                Method::POST,
                Method::PATCH,
                Method::DELETE,
                Method::PUT,
            ]),
        ),
        nasty_string(),
        prop::collection::vec((field(), nasty_string()), 0..3),
        content_type(),
        payload(),
        any::<bool>(),
    )
        .prop_map(
            |(
                target,
                method_pick,
                other_method,
                parameter,
                query,
                content_type,
                payload,
                logged_in,
            )| Attempt {
                target,
                method_pick,
                other_method,
                parameter,
                query,
                content_type,
                payload,
                logged_in,
            },
        )
}

/// Every REST route (`/api/v1/…`, path parameters as `{…}`) with the
/// methods it serves (found by asking: 405 or not), then every server
/// function with its method.
async fn targets(client: &mut Client) -> Vec<(String, Vec<Method>)> {
    let mut targets = Vec::new();
    for route in server::api::v1::routes() {
        let path = format!("/api/v1{}", route.path);
        let mut methods = Vec::new();
        for method in [Method::GET, Method::POST, Method::PATCH, Method::DELETE] {
            let probe = client
                .send(
                    method.clone(),
                    &fill(&path, "1"),
                    HeaderMap::new(),
                    Body::empty(),
                )
                .await;
            if probe.status != StatusCode::METHOD_NOT_ALLOWED {
                methods.push(method);
            }
        }
        targets.push((path, methods));
    }
    targets.extend(
        leptos::server_fn::axum::server_fn_paths()
            .map(|(path, method)| (path.to_owned(), vec![method])),
    );
    targets.sort();
    targets
}

/// `template` with each `{…}` replaced by `parameter`, percent-encoded.
fn fill(template: &str, parameter: &str) -> String {
    let encoded: String = url_escape(parameter);
    let mut path = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |end| start + end + 1);
        path.push_str(&rest[..start]);
        path.push_str(&encoded);
        rest = &rest[end..];
    }
    path.push_str(rest);
    path
}

fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn malformed_requests_to_every_endpoint_never_get_a_5xx() {
    let app = TestApp::on(Backend::Sqlite).await.unwrap();
    let mut ann = app.user("ann").await;
    app.user("bob").await;
    ann.send_message("bob", "a message to find").await;
    let mut anonymous = app.client();
    let targets = targets(&mut ann).await;
    assert!(
        targets.iter().any(|(path, _)| path.starts_with("/rpc/")),
        "server functions are registered: {targets:?}"
    );

    let cases: usize = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(600);
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let strategy = attempt(targets.len());
    let mut answered = std::collections::BTreeMap::<u16, usize>::new();
    for _ in 0..cases {
        let attempt = strategy.new_tree(&mut runner).unwrap().current();
        let (template, methods) = &targets[attempt.target];
        let method = attempt
            .other_method
            .clone()
            .unwrap_or_else(|| methods[attempt.method_pick % methods.len()].clone());
        let mut uri = fill(template, &attempt.parameter);
        if !attempt.query.is_empty() {
            let query: Vec<String> = attempt
                .query
                .iter()
                .map(|(key, value)| format!("{}={}", url_escape(key), url_escape(value)))
                .collect();
            uri = format!("{uri}?{}", query.join("&"));
        }
        let mut headers = HeaderMap::new();
        if let Some(content_type) = attempt.content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        let body = match &attempt.payload {
            Payload::Empty => Body::empty(),
            Payload::Bytes(bytes) => Body::from(bytes.clone()),
            Payload::Json(value) => Body::from(value.to_string()),
            Payload::Form(pairs) => Body::from(serde_urlencoded::to_string(pairs).unwrap()),
        };
        let client = if attempt.logged_in {
            &mut ann
        } else {
            &mut anonymous
        };
        let response = client.send(method.clone(), &uri, headers, body).await;
        *answered.entry(response.status.as_u16()).or_default() += 1;
        assert!(
            response.status.as_u16() < 500,
            "{} {uri} answered {}: {}\n{attempt:?}",
            method,
            response.status,
            response.text
        );
        if response.status.is_client_error() {
            assert!(
                response.body.is_object(),
                "{} {uri} answered {} without a JSON body: {:?}\n{attempt:?}",
                method,
                response.status,
                response.text
            );
        }
        // A generated request may log Ann out (or end her session): log
        // her back in, so the run keeps reaching the logged-in handlers.
        if ann.cookie.is_none() || ann.get("/api/v1/auth/me").await.status.as_u16() == 401 {
            ann = app.client();
            let again = ann
                .post_json(
                    "/api/v1/auth/login",
                    &json!({"username": "ann", "password": "correct horse"}),
                )
                .await;
            assert!(again.status.is_success(), "{}", again.text);
        }
    }
    println!("{cases} malformed requests answered: {answered:?}");
}
