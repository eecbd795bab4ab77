//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/v1/openapi.json`
//! (and read by the Swagger UI at `/api/docs`).
//!
//! It is derived from the code that serves the API: each handler's
//! `#[utoipa::path]` names its statuses, and the wire types are the schemas,
//! so a field cannot change without the document changing with it. What
//! every operation shares (401 on session routes, the session cookie, 403
//! for cross-site changes, 414/431 for oversized requests, 503 under
//! overload, 400/413/415 for bodies) is added from the route table
//! itself ([`super::routes`]), so a new route cannot forget it. A test walks
//! the router to check that each documented operation is served and each
//! served one is documented.

use std::sync::OnceLock;

use app::domain::{AppState, Settings};
use app::wire::{ClientFrame, ErrorBody, Event, EventBody, ServerFrame, Signal};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref};
use utoipa::{Modify, OpenApi, ToSchema};

use super::{Access, routes};

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";

/// The name the session cookie's security scheme goes by.
const SESSION_SCHEME: &str = "session";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ChatApp API",
        version = "1",
        description = include_str!("openapi_intro.md"),
        license(name = "MIT", identifier = "MIT"),
    ),
    paths(
        super::auth::register,
        super::auth::log_in,
        super::auth::log_out,
        super::auth::me,
        super::auth::settings,
        super::auth::update_settings,
        super::auth::confirm_email,
        super::auth::cancel_email_change,
        super::auth::change_password,
        super::auth::end_other_sessions,
        super::auth::export,
        super::auth::delete_account,
        super::auth::request_password_reset,
        super::auth::confirm_password_reset,
        super::users::list,
        super::messages::list,
        super::messages::create,
        super::messages::show,
        super::messages::edit,
        super::messages::delete,
        super::presence::show,
        super::conversations::list,
        super::conversations::read,
    ),
    components(schemas(ErrorBody, ServerFrame, Event, EventBody, Signal, ClientFrame)),
    tags(
        (name = "accounts", description = "Signing up, logging in, your account and your data."),
        (name = "people", description = "Who else is here, and who is around."),
        (name = "messages", description = "Sending, reading, editing and deleting messages."),
        (name = "conversations", description = "Your conversations, unread counts and read pointers."),
    ),
    modifiers(&SharedAnswers),
)]
pub struct ApiDoc;

/// The document, rendered once (settings do not change while serving).
static DOCUMENT: OnceLock<String> = OnceLock::new();

/// The document as pretty JSON, with this server's settings in it (the
/// longest message it takes).
pub fn render(settings: &Settings) -> String {
    let mut document =
        serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serializes");
    for body in ["NewMessage", "MessageEdit"] {
        document["components"]["schemas"][body]["properties"]["body"]["maxLength"] =
            settings.max_message_chars.into();
    }
    serde_json::to_string_pretty(&document).expect("JSON serializes")
}

/// `GET /api/v1/openapi.json`.
pub async fn document(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.get_or_init(|| render(&state.settings)).as_str(),
    )
}

/// Adds what operations share, from the route table: see the module docs.
struct SharedAnswers;

impl Modify for SharedAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SESSION_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::SESSION_COOKIE,
                "The session cookie that signing up or logging in sets \
                 (`__Host-` prefixed when the server runs with SECURE_COOKIES).",
            ))),
        );
        for route in routes() {
            let path = format!("/api/v1{}", route.path);
            let Some(item) = openapi.paths.paths.get_mut(&path) else {
                continue;
            };
            if let Some(operation) = &mut item.get {
                add_shared_answers(operation, route.access);
            }
            // Methods that change something are refused from other sites.
            for operation in [
                &mut item.post,
                &mut item.patch,
                &mut item.put,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                add_shared_answers(operation, route.access);
                add_error(
                    operation,
                    403,
                    "A cross-site request: its `Origin` or `Sec-Fetch-Site` shows another site.",
                );
            }
        }
    }
}

fn add_shared_answers(operation: &mut Operation, access: Access) {
    if access == Access::Session {
        operation.security = Some(vec![SecurityRequirement::new(
            SESSION_SCHEME,
            Vec::<String>::new(),
        )]);
        add_error(
            operation,
            401,
            "No valid session: log in (or the session ended).",
        );
    }
    add_error(operation, 414, "The URL is over 8 KiB.");
    add_error(operation, 431, "The request's headers are over 16 KiB.");
    if operation.request_body.is_some() {
        add_error(
            operation,
            400,
            "The body is not valid JSON of the documented shape.",
        );
        add_error(operation, 413, "The body is over 64 KiB.");
        add_error(operation, 415, "The body is not `application/json`.");
    }
    let busy = error_answer(
        "The server is over capacity, or the database is unreachable or slow: \
         retry after `Retry-After` seconds.",
    )
    .header(
        "retry-after",
        HeaderBuilder::new()
            .schema(Some(<u64 as utoipa::PartialSchema>::schema()))
            .description(Some("Seconds to wait before retrying."))
            .build(),
    );
    add_answer(operation, 503, busy);
}

/// Adds an error answer unless the handler documented that status itself
/// (its own description is the more precise one).
fn add_error(operation: &mut Operation, status: u16, description: &str) {
    add_answer(operation, status, error_answer(description));
}

fn add_answer(operation: &mut Operation, status: u16, answer: ResponseBuilder) {
    operation
        .responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| answer.build().into());
}

/// An answer with an `ErrorBody`.
fn error_answer(description: &str) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", error_content())
}

fn error_content() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(ErrorBody::name())))
        .build()
}
