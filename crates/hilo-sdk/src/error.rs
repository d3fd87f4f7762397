//! What a call can fail with. An API refusal keeps everything HighLevel said about it.

use hilo_types::error::ErrorMessage;
use serde_json::Value;

/// A refusal by the server, with what it said.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    /// HighLevel's `message`; a 422's list of messages joined with "; ".
    pub message: String,
    /// Every message of a 422, one each; a single message otherwise.
    pub messages: Vec<String>,
    /// The `traceId` of the body, when it has one.
    pub trace_id: Option<String>,
    /// The whole body as sent (JSON, or a string for a non-JSON body).
    pub body: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with a status outside 2xx (after any retries).
    #[error("HTTP {}: {}", .0.status, .0.message)]
    Api(Box<ApiError>),
    /// The request never got an answer: connection refused, reset, timed out.
    #[error("request failed: {0}")]
    Transport(#[source] reqwest::Error),
    /// A 2xx answer whose body is not the JSON expected.
    #[error("unexpected response body: {0}")]
    Decode(String),
    /// The OAuth refresh was refused or could not be made; the client cannot authenticate.
    #[error("token refresh failed: {0}")]
    Refresh(Box<Error>),
    /// The client was built with something unusable (a malformed base URL, say).
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// `Ok` when a 2xx body's flag (`success`, `succeded`) says the call was carried out.
pub(crate) fn confirmed(flag: bool, name: &str) -> Result<(), Error> {
    if flag {
        Ok(())
    } else {
        Err(Error::Decode(format!("the server answered {name}: false")))
    }
}

impl Error {
    /// Builds the error for a non-2xx answer from its status and raw body.
    pub(crate) fn from_response(status: u16, bytes: &[u8]) -> Error {
        let body: Value = serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()));
        let messages = match body
            .get("message")
            .cloned()
            .map(serde_json::from_value::<ErrorMessage>)
        {
            Some(Ok(ErrorMessage::One(one))) => vec![one],
            Some(Ok(ErrorMessage::Many(many))) => many,
            _ => match &body {
                Value::String(text) if !text.is_empty() => vec![text.clone()],
                _ => Vec::new(),
            },
        };
        let message = if messages.is_empty() {
            format!("status {status}")
        } else {
            messages.join("; ")
        };
        let trace_id = body
            .get("traceId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Error::Api(Box::new(ApiError {
            status,
            message,
            messages,
            trace_id,
            body,
        }))
    }

    /// The server's refusal, when that is what this is.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            Error::Refresh(inner) => inner.api(),
            _ => None,
        }
    }

    /// The HTTP status of an API refusal.
    pub fn status(&self) -> Option<u16> {
        self.api().map(|api| api.status)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_422_keeps_each_message() {
        let error = Error::from_response(
            422,
            br#"{"statusCode":422,"message":["email must be an email","pageLimit must not be greater than 500"],"error":"Unprocessable Entity"}"#,
        );
        let api = error.api().expect("an API error");
        assert_eq!(api.status, 422);
        assert_eq!(api.messages.len(), 2);
        assert_eq!(
            api.message,
            "email must be an email; pageLimit must not be greater than 500"
        );
    }

    #[test]
    fn trace_id_and_plain_text_bodies() {
        let error = Error::from_response(400, br#"{"message":"Bad","traceId":"t-1"}"#);
        assert_eq!(error.api().unwrap().trace_id.as_deref(), Some("t-1"));
        let error = Error::from_response(502, b"Bad Gateway");
        assert_eq!(error.api().unwrap().message, "Bad Gateway");
        let error = Error::from_response(500, b"");
        assert_eq!(error.api().unwrap().message, "status 500");
    }
}
