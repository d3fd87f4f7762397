//! Every error a client can see, and the one place it becomes HighLevel's JSON body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hilo_types::error::{ErrorBody, ErrorMessage};
use serde_json::Value;

use crate::ratelimit::{TooManyRequests, Verdict};

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 with a string message (business rules, unknown records, malformed JSON).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 400 for a create that would duplicate a contact where the location forbids it.
    #[error("duplicate contact")]
    DuplicateContact { meta: Value },
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// 403: the token is not for the location of the resource.
    #[error("forbidden: location")]
    WrongLocation,
    /// 403 for another agency's records, or an app that is not installed there.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A refusal of the OAuth endpoints: RFC 6749's `error` and `error_description` beside
    /// HighLevel's `statusCode` and `message`, so clients of either shape read it.
    #[error("oauth {error}: {description}")]
    OAuth {
        status: StatusCode,
        error: &'static str,
        description: String,
    },
    /// 404 for a route that does not exist, in NestJS's words.
    #[error("no route: {0}")]
    NoRoute(String),
    #[error("payload too large")]
    PayloadTooLarge,
    /// 429: the caller's burst or daily limit is spent.
    #[error("rate limited")]
    RateLimited(Verdict),
    /// 409: what would be written exists already (a fixture's ids).
    #[error("conflict: {0}")]
    Conflict(String),
    /// 422 with one message per failed constraint.
    #[error("unprocessable: {0:?}")]
    Unprocessable(Vec<String>),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub const VERSION_MISSING: &str = "version header was not found.";
pub const NO_AUTHORIZATION: &str = "No Authorization header found for authentication!";
pub const INVALID_JWT: &str = "Invalid JWT";
pub const SCOPE_MISSING: &str = "The token is not authorized for this scope.";
pub const WRONG_LOCATION: &str = "The token does not have access to this location.";
pub const WRONG_COMPANY: &str = "The token does not have access to this company.";

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest(message.into())
    }

    /// 403: an agency token used on another agency's records.
    pub fn wrong_company() -> Self {
        ApiError::Forbidden(WRONG_COMPANY.to_owned())
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        ApiError::OAuth {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_grant",
            description: description.into(),
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        ApiError::OAuth {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: description.into(),
        }
    }

    pub fn invalid_client() -> Self {
        ApiError::OAuth {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "Invalid client: client_id or client_secret is invalid".to_owned(),
        }
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        ApiError::Unprocessable(vec![message.into()])
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::DuplicateContact { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::WrongLocation | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::OAuth { status, .. } => *status,
            ApiError::NoRoute(_) => StatusCode::NOT_FOUND,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Database(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(self) -> ErrorBody {
        let status = self.status();
        let one = |message: String, error: Option<&str>| ErrorBody {
            status_code: status.as_u16(),
            message: ErrorMessage::One(message),
            error: error.map(str::to_owned),
            meta: None,
        };
        match self {
            ApiError::BadRequest(message) => one(message, Some("Bad Request")),
            ApiError::DuplicateContact { meta } => ErrorBody {
                meta: Some(meta),
                ..one(
                    "This location does not allow duplicated contacts.".into(),
                    None,
                )
            },
            ApiError::Unauthorized(VERSION_MISSING) => one(VERSION_MISSING.into(), None),
            ApiError::Unauthorized(message) => one(message.into(), Some("Unauthorized")),
            ApiError::WrongLocation => one(WRONG_LOCATION.into(), None),
            ApiError::Forbidden(message) => one(message, Some("Forbidden")),
            ApiError::OAuth { description, .. } => one(description, None),
            ApiError::NoRoute(message) => one(message, Some("Not Found")),
            ApiError::PayloadTooLarge => {
                one("request entity too large".into(), Some("Payload Too Large"))
            }
            ApiError::RateLimited(_) => one("Too Many Requests".into(), None),
            ApiError::Conflict(message) => one(message, Some("Conflict")),
            ApiError::Unprocessable(messages) => ErrorBody {
                message: ErrorMessage::Many(messages),
                ..one(String::new(), Some("Unprocessable Entity"))
            },
            ApiError::Database(_) | ApiError::Internal(_) => one(
                "Internal server error".into(),
                Some("Internal Server Error"),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            // The details stay in the log, tied to the request span; the client gets none.
            tracing::error!(error = ?self, "request failed");
        } else {
            tracing::debug!(error = %self, "request rejected");
        }
        if let ApiError::RateLimited(verdict) = self {
            return TooManyRequests(verdict).into_response();
        }
        if let ApiError::OAuth {
            error, description, ..
        } = &self
        {
            let body = serde_json::json!({
                "statusCode": status.as_u16(),
                "message": description,
                "error": error,
                "error_description": description,
            });
            return (status, Json(body)).into_response();
        }
        (status, Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(e: ApiError) -> Value {
        serde_json::to_value(e.body()).unwrap()
    }

    #[test]
    fn bodies_are_highlevels() {
        assert_eq!(
            body(ApiError::Unauthorized(VERSION_MISSING)),
            json!({"statusCode":401,"message":"version header was not found."})
        );
        assert_eq!(
            body(ApiError::Unauthorized(INVALID_JWT)),
            json!({"statusCode":401,"message":"Invalid JWT","error":"Unauthorized"})
        );
        assert_eq!(
            body(ApiError::WrongLocation),
            json!({"statusCode":403,"message":"The token does not have access to this location."})
        );
        assert_eq!(
            body(ApiError::unprocessable("property x should not exist")),
            json!({"statusCode":422,"message":["property x should not exist"],"error":"Unprocessable Entity"})
        );
        assert_eq!(
            body(ApiError::bad_request("Contact not found for id:x")),
            json!({"statusCode":400,"message":"Contact not found for id:x","error":"Bad Request"})
        );
        assert_eq!(
            body(ApiError::DuplicateContact {
                meta: json!({"contactId":"c"})
            }),
            json!({"statusCode":400,"message":"This location does not allow duplicated contacts.","meta":{"contactId":"c"}})
        );
    }

    #[test]
    fn rate_limited_body_is_the_limiters() {
        let verdict = Verdict {
            allowed: false,
            limit_daily: 1,
            daily_remaining: 0,
            interval_ms: 1,
            max: 1,
            remaining: 0,
            retry_after_secs: Some(1),
        };
        let expected: Value =
            serde_json::from_str(crate::ratelimit::TOO_MANY_REQUESTS_BODY).unwrap();
        assert_eq!(body(ApiError::RateLimited(verdict)), expected);
    }

    #[test]
    fn internals_never_leak() {
        let b = body(ApiError::Internal(anyhow::anyhow!(
            "disk on fire at /var/secret"
        )));
        assert_eq!(b["statusCode"], 500);
        assert!(!b.to_string().contains("secret"));
    }
}
