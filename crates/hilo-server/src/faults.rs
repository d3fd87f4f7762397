//! Fault injection for sandboxes: make HighLevel routes fail on purpose, so a client's retries
//! and backoff can be tested. A request is faulted by a rule (set through the control plane,
//! `/hilo/admin/faults`) that matches it, or by its own `X-Hilo-Fault` header. A faulted request
//! never reaches its handler, so it writes nothing; added latency alone lets it through.
//!
//! Rules live in the serving process: with several `hilo serve` processes, set them on each.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::auth::{self, Principal};
use crate::error::INVALID_JWT;
use crate::ids::new_id;
use crate::state::AppState;
use crate::time::{format_ms, now_ms};

/// The request header that forces one fault: `429`, `500`, `502`, `503`, `drop`, `malformed`,
/// `expired_token`, or `latency=MS`.
pub const FAULT_HEADER: &str = "x-hilo-fault";

/// What a fault does to the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "type",
    deny_unknown_fields
)]
pub enum Effect {
    /// An error status with HighLevel's body for it (429 also with `Retry-After`).
    Status {
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_secs: Option<u64>,
    },
    /// Waits, then handles the request as usual; `max_ms` makes the wait uniform in
    /// `[ms, max_ms]`.
    Latency {
        ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ms: Option<u64>,
    },
    /// The connection breaks before a response is complete.
    Drop,
    /// A 200 whose JSON body is cut short.
    Malformed,
    /// HighLevel's 401 for a token that is no longer valid.
    ExpiredToken,
}

/// The statuses a fault may answer.
const STATUSES: [u16; 4] = [429, 500, 502, 503];

impl Effect {
    /// The effect an `X-Hilo-Fault` header names.
    pub fn from_header(value: &str) -> Option<Effect> {
        let value = value.trim();
        if let Some(ms) = value.strip_prefix("latency=") {
            return ms
                .parse()
                .ok()
                .map(|ms| Effect::Latency { ms, max_ms: None });
        }
        match value {
            "drop" => Some(Effect::Drop),
            "malformed" => Some(Effect::Malformed),
            "expired_token" => Some(Effect::ExpiredToken),
            status => status
                .parse()
                .ok()
                .filter(|s| STATUSES.contains(s))
                .map(|status| Effect::Status {
                    status,
                    retry_after_secs: None,
                }),
        }
    }

    /// Whether the effect is one hilo can produce (an allowed status, a sane latency).
    pub fn is_valid(&self) -> bool {
        match self {
            Effect::Status { status, .. } => STATUSES.contains(status),
            Effect::Latency { ms, max_ms } => {
                *ms <= 60_000 && max_ms.is_none_or(|m| m >= *ms && m <= 60_000)
            }
            Effect::Drop | Effect::Malformed | Effect::ExpiredToken => true,
        }
    }
}

/// Which requests a rule faults; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Matcher {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// A path pattern: `*` stands for any run of characters within one path segment, and a
    /// final `/**` for any rest of the path (`/contacts/*`, `/contacts/**`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The location (or, for agency tokens, the agency) the request's token is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    /// The app's client id, or the private token's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

impl Matcher {
    fn needs_caller(&self) -> bool {
        self.location_id.is_some() || self.client_id.is_some()
    }

    fn matches(&self, method: &Method, path: &str, caller: Option<&Principal>) -> bool {
        let method_ok = self
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()));
        let path_ok = self
            .path
            .as_deref()
            .is_none_or(|p| path_matches(p.trim_end_matches('/'), path.trim_end_matches('/')));
        let location_ok = self.location_id.as_deref().is_none_or(|l| {
            caller.is_some_and(|c| c.location_id.as_deref().unwrap_or(&c.company_id) == l)
        });
        let client_ok = self
            .client_id
            .as_deref()
            .is_none_or(|id| caller.is_some_and(|c| c.client == id));
        method_ok && path_ok && location_ok && client_ok
    }
}

/// `*` matches any run of characters within a segment; a final `**` segment any rest.
pub(crate) fn path_matches(pattern: &str, path: &str) -> bool {
    let mut pattern_segments = pattern.split('/');
    let mut path_segments = path.split('/');
    loop {
        match (pattern_segments.next(), path_segments.next()) {
            (Some("**"), _) => return pattern_segments.next().is_none(),
            (Some(p), Some(s)) if segment_matches(p, s) => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

fn segment_matches(pattern: &str, segment: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = segment.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// A rule as it is asked for.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRule {
    #[serde(default, rename = "match")]
    pub matcher: Matcher,
    pub effect: Effect,
    /// The chance that a matching request is faulted, 0–1 (default 1).
    #[serde(default)]
    pub probability: Option<f64>,
    /// Fault only the Nth matching request (1-based), then retire.
    #[serde(default)]
    pub nth: Option<u32>,
    /// Retire after this many faults.
    #[serde(default)]
    pub times: Option<u32>,
    /// Retire this long after creation.
    #[serde(default)]
    pub ttl_ms: Option<u64>,
}

/// A rule in force, as the control plane shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub id: String,
    #[serde(rename = "match")]
    pub matcher: Matcher,
    pub effect: Effect,
    pub probability: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nth: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub times_left: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Matching requests seen, and how many were faulted.
    pub matched: u64,
    pub hits: u64,
    #[serde(skip)]
    expires_at_ms: Option<i64>,
}

/// The rules of this process.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    rules: Arc<Mutex<Vec<Rule>>>,
}

impl Faults {
    /// Adds a rule; `Err` says what is wrong with it.
    pub fn add(&self, new: NewRule, now_ms: i64) -> Result<Rule, String> {
        if !new.effect.is_valid() {
            return Err(format!(
                "effect must be a status of {STATUSES:?}, a latency of at most 60000 ms, drop, \
                 malformed or expiredToken"
            ));
        }
        let probability = new.probability.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&probability) {
            return Err("probability must be between 0 and 1".to_owned());
        }
        if new.nth == Some(0) || new.times == Some(0) {
            return Err("nth and times must be at least 1".to_owned());
        }
        let expires_at_ms = new
            .ttl_ms
            .map(|ttl| now_ms.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)));
        let rule = Rule {
            id: new_id(),
            matcher: new.matcher,
            effect: new.effect,
            probability,
            nth: new.nth,
            times_left: new.times,
            expires_at: expires_at_ms.map(format_ms),
            matched: 0,
            hits: 0,
            expires_at_ms,
        };
        self.lock().push(rule.clone());
        Ok(rule)
    }

    pub fn list(&self, now_ms: i64) -> Vec<Rule> {
        let mut rules = self.lock();
        rules.retain(|r| r.live(now_ms));
        rules.clone()
    }

    /// Removes one rule (`Some(id)`) or all; returns how many went.
    pub fn remove(&self, id: Option<&str>) -> usize {
        let mut rules = self.lock();
        let before = rules.len();
        rules.retain(|r| id.is_some_and(|id| r.id != id));
        before - rules.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Rule>> {
        // Rules hold no invariant a panic could break halfway.
        self.rules.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn any_needs_caller(&self) -> bool {
        self.lock().iter().any(|r| r.matcher.needs_caller())
    }

    /// The effect of the first live rule that faults this request, counting it.
    fn decide(
        &self,
        method: &Method,
        path: &str,
        caller: Option<&Principal>,
        now_ms: i64,
    ) -> Option<Effect> {
        let mut rules = self.lock();
        rules.retain(|r| r.live(now_ms));
        let mut rng = rand::thread_rng();
        for rule in rules.iter_mut() {
            if !rule.matcher.matches(method, path, caller) {
                continue;
            }
            rule.matched += 1;
            let chosen = match rule.nth {
                Some(n) => rule.matched == u64::from(n),
                None => rule.probability >= 1.0 || rng.gen::<f64>() < rule.probability,
            };
            if !chosen {
                continue;
            }
            rule.hits += 1;
            rule.times_left = rule.times_left.map(|t| t.saturating_sub(1));
            if rule.nth.is_some() {
                rule.times_left = Some(0);
            }
            return Some(rule.effect.clone());
        }
        None
    }
}

impl Rule {
    fn live(&self, now_ms: i64) -> bool {
        self.times_left != Some(0) && self.expires_at_ms.is_none_or(|at| now_ms < at)
    }
}

/// Middleware on HighLevel's routes: applies the request's `X-Hilo-Fault`, or the first rule
/// that faults it.
pub async fn inject(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let forced = request
        .headers()
        .get(FAULT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| Effect::from_header(v).ok_or_else(|| v.to_owned()));
    let effect = match forced {
        Some(Ok(effect)) => Some(effect),
        Some(Err(value)) => return unknown_fault(&value),
        None => {
            let caller = match state.faults.any_needs_caller() {
                true => auth::identify(request.headers(), &state).await,
                false => None,
            };
            state.faults.decide(
                request.method(),
                request.uri().path(),
                caller.as_ref(),
                now_ms(),
            )
        }
    };
    match effect {
        None => next.run(request).await,
        Some(Effect::Latency { ms, max_ms }) => {
            let wait = match max_ms {
                Some(max) if max > ms => rand::thread_rng().gen_range(ms..=max),
                _ => ms,
            };
            tokio::time::sleep(Duration::from_millis(wait)).await;
            next.run(request).await
        }
        Some(effect) => respond(effect),
    }
}

fn unknown_fault(value: &str) -> Response {
    let body = serde_json::json!({
        "statusCode": 400,
        "message": format!("{FAULT_HEADER} {value:?} is not one of 429, 500, 502, 503, drop, malformed, expired_token, latency=MS"),
        "error": "Bad Request",
    });
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// The response a fault answers in place of the handler's.
fn respond(effect: Effect) -> Response {
    let json = |status: StatusCode, body: String| {
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    };
    match effect {
        Effect::Status {
            status: 429,
            retry_after_secs,
        } => {
            let mut response = json(
                StatusCode::TOO_MANY_REQUESTS,
                crate::ratelimit::TOO_MANY_REQUESTS_BODY.to_owned(),
            );
            response.headers_mut().insert(
                RETRY_AFTER,
                HeaderValue::from(retry_after_secs.unwrap_or(1)),
            );
            response
        }
        Effect::Status { status, .. } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let message = match status {
                StatusCode::INTERNAL_SERVER_ERROR => "Internal server error",
                _ => status.canonical_reason().unwrap_or("Error"),
            };
            json(
                status,
                serde_json::json!({"statusCode": status.as_u16(), "message": message}).to_string(),
            )
        }
        Effect::ExpiredToken => json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"statusCode": 401, "message": INVALID_JWT, "error": "Unauthorized"})
                .to_string(),
        ),
        Effect::Malformed => json(StatusCode::OK, "{\"contact\": {\"id\": ".to_owned()),
        Effect::Drop => {
            // A body that fails after its first bytes makes the server abort the connection.
            let stream = futures_util::stream::iter([
                Ok(axum::body::Bytes::from_static(b"{")),
                Err(std::io::Error::other("fault injected: connection dropped")),
            ]);
            let mut response = Response::new(Body::from_stream(stream));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Effect::Latency { .. } => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_patterns() {
        for (pattern, path, want) in [
            ("/contacts/*", "/contacts/abc", true),
            ("/contacts/*", "/contacts", false),
            ("/contacts/*", "/contacts/abc/tasks", false),
            ("/contacts/**", "/contacts/abc/tasks", true),
            ("/contacts", "/contacts", true),
            ("/contacts/*/tasks", "/contacts/x/tasks", true),
            ("/contacts/a*c", "/contacts/abbc", true),
            ("/contacts/a*c", "/contacts/abd", false),
            ("/businesses/*", "/contacts/x", false),
        ] {
            assert_eq!(path_matches(pattern, path), want, "{pattern} {path}");
        }
    }

    #[test]
    fn headers_name_effects() {
        assert_eq!(
            Effect::from_header("429"),
            Some(Effect::Status {
                status: 429,
                retry_after_secs: None
            })
        );
        assert_eq!(Effect::from_header(" drop "), Some(Effect::Drop));
        assert_eq!(
            Effect::from_header("latency=250"),
            Some(Effect::Latency {
                ms: 250,
                max_ms: None
            })
        );
        for bad in ["404", "latency=soon", "", "explode"] {
            assert_eq!(Effect::from_header(bad), None, "{bad}");
        }
    }

    fn rule(json: serde_json::Value) -> NewRule {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn times_nth_and_expiry_retire_rules() {
        let faults = Faults::default();
        let post = Method::POST;
        faults.add(rule(serde_json::json!({"match": {"method": "POST", "path": "/contacts"}, "effect": {"type": "status", "status": 429}, "times": 2})), 0).unwrap();
        let seen: Vec<bool> = (0..4)
            .map(|_| faults.decide(&post, "/contacts/", None, 0).is_some())
            .collect();
        assert_eq!(seen, [true, true, false, false]);
        assert!(faults.decide(&Method::GET, "/contacts", None, 0).is_none());

        faults
            .add(
                rule(serde_json::json!({"effect": {"type": "drop"}, "nth": 3})),
                0,
            )
            .unwrap();
        let seen: Vec<bool> = (0..5)
            .map(|_| faults.decide(&post, "/x", None, 0).is_some())
            .collect();
        assert_eq!(seen, [false, false, true, false, false]);

        faults
            .add(
                rule(serde_json::json!({"effect": {"type": "malformed"}, "ttlMs": 1000})),
                0,
            )
            .unwrap();
        assert!(faults.decide(&post, "/x", None, 999).is_some());
        assert!(faults.decide(&post, "/x", None, 1000).is_none());
        assert!(faults.list(1000).is_empty());
    }

    #[test]
    fn bad_rules_are_refused() {
        let faults = Faults::default();
        for bad in [
            serde_json::json!({"effect": {"type": "status", "status": 404}}),
            serde_json::json!({"effect": {"type": "latency", "ms": 100_000}}),
            serde_json::json!({"effect": {"type": "drop"}, "probability": 1.5}),
            serde_json::json!({"effect": {"type": "drop"}, "times": 0}),
        ] {
            assert!(faults.add(rule(bad.clone()), 0).is_err(), "{bad}");
        }
        assert!(faults.list(0).is_empty());
    }
}
