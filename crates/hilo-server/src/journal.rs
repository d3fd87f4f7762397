//! The request journal: the last requests to HighLevel's routes and what hilo answered (method,
//! path, status, latency, caller, headers without secrets, bodies capped), so that a test can
//! ask what its client sent ("how many POST /contacts/ with this email since T"). Kept in the
//! serving process, newest last, as many as `hilo serve --journal-size` says.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::CallerSlot;
use crate::error::ApiError;
use crate::ids::new_id;
use crate::state::AppState;
use crate::time::{format_ms, now_ms};

/// How many requests are kept unless told otherwise.
pub const DEFAULT_CAPACITY: usize = 1_000;
/// The most of a body that is kept.
const BODY_CAP: usize = 16 * 1024;
/// Headers whose values are secrets.
const SECRET_HEADERS: [&str; 2] = ["authorization", "cookie"];
/// Body fields whose values are secrets (the OAuth endpoints' forms and answers).
const SECRET_FIELDS: [&str; 6] = [
    "client_secret",
    "code",
    "refresh_token",
    "access_token",
    "password",
    "clientSecret",
];
const REDACTED: &str = "[redacted]";

/// One request and its answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub id: String,
    pub at: String,
    #[serde(skip)]
    pub at_ms: i64,
    pub method: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    pub status: u16,
    pub latency_ms: f64,
    /// `LocationPrivate`, `AgencyPrivate`, `LocationOAuth` or `CompanyOAuth`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_kind: Option<String>,
    /// The app's client id, or the private token's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The token's location, or its agency for agency tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    pub request_headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
}

/// Which entries a question is about; every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub method: Option<String>,
    /// A path pattern, as fault rules take them.
    pub path: Option<String>,
    pub status: Option<u16>,
    pub since_ms: Option<i64>,
    pub location_id: Option<String>,
    pub client_id: Option<String>,
    /// Text the request body contains.
    pub body_contains: Option<String>,
}

impl Query {
    fn matches(&self, e: &Entry) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(&e.method))
            && self.path.as_deref().is_none_or(|p| {
                crate::faults::path_matches(p.trim_end_matches('/'), e.path.trim_end_matches('/'))
            })
            && self.status.is_none_or(|s| s == e.status)
            && self.since_ms.is_none_or(|t| e.at_ms >= t)
            && self
                .location_id
                .as_deref()
                .is_none_or(|l| e.location_id.as_deref() == Some(l))
            && self
                .client_id
                .as_deref()
                .is_none_or(|c| e.client_id.as_deref() == Some(c))
            && self
                .body_contains
                .as_deref()
                .is_none_or(|t| e.request_body.as_deref().is_some_and(|b| b.contains(t)))
    }
}

/// The journal of this process.
#[derive(Debug, Clone)]
pub struct Journal {
    entries: Arc<Mutex<VecDeque<Entry>>>,
    capacity: usize,
    /// Request bodies longer than the server's limit are refused without being read whole.
    body_limit: usize,
}

impl Default for Journal {
    fn default() -> Self {
        Journal::new(DEFAULT_CAPACITY, crate::DEFAULT_BODY_LIMIT)
    }
}

impl Journal {
    /// A journal keeping the last `capacity` requests (none: off), reading request bodies of
    /// up to `body_limit` bytes.
    pub fn new(capacity: usize, body_limit: usize) -> Journal {
        Journal {
            entries: Arc::new(Mutex::new(VecDeque::new())),
            capacity,
            body_limit,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Entry>> {
        // Entries hold no invariant a panic could break halfway.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, entry: Entry) {
        let mut entries = self.lock();
        while entries.len() >= self.capacity.max(1) {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// The newest `limit` entries that match, newest first.
    pub fn find(&self, query: &Query, limit: usize) -> Vec<Entry> {
        self.lock()
            .iter()
            .rev()
            .filter(|e| query.matches(e))
            .take(limit)
            .cloned()
            .collect()
    }

    pub fn count(&self, query: &Query) -> usize {
        self.lock().iter().filter(|e| query.matches(e)).count()
    }

    /// Forgets every entry; returns how many there were.
    pub fn clear(&self) -> usize {
        let mut entries = self.lock();
        let n = entries.len();
        entries.clear();
        n
    }
}

/// A body as the journal keeps it: secret fields of a JSON object or a form redacted, capped.
fn kept_body(bytes: &[u8]) -> Option<String> {
    if let Ok(serde_json::Value::Object(mut object)) = serde_json::from_slice(bytes) {
        if SECRET_FIELDS.iter().any(|f| object.contains_key(*f)) {
            for field in SECRET_FIELDS {
                if let Some(value) = object.get_mut(field) {
                    *value = serde_json::Value::from(REDACTED);
                }
            }
            return capped(serde_json::Value::Object(object).to_string().as_bytes());
        }
    } else if bytes.contains(&b'=') && !bytes.contains(&b'{') {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(bytes).into_owned().collect();
        if pairs
            .iter()
            .any(|(k, _)| SECRET_FIELDS.contains(&k.as_str()))
        {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (key, value) in &pairs {
                let shown = if SECRET_FIELDS.contains(&key.as_str()) {
                    REDACTED
                } else {
                    value.as_str()
                };
                form.append_pair(key, shown);
            }
            return capped(form.finish().as_bytes());
        }
    }
    capped(bytes)
}

fn capped(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_CAP)]).into_owned();
    Some(if bytes.len() > BODY_CAP {
        format!("{text}… ({} bytes)", bytes.len())
    } else {
        text
    })
}

fn visible_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(name, value)| {
            let shown = if SECRET_HEADERS.contains(&name.as_str()) {
                REDACTED.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), shown)
        })
        .collect()
}

/// Middleware on HighLevel's routes: records each request and its answer.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let journal = &state.journal;
    if journal.capacity == 0 {
        return next.run(request).await;
    }
    let started = Instant::now();
    let at_ms = now_ms();
    let (mut parts, body) = request.into_parts();
    let Ok(request_bytes) = axum::body::to_bytes(body, journal.body_limit).await else {
        // Too large (or broken): what the handler would have refused, without reading it all.
        return ApiError::PayloadTooLarge.into_response();
    };
    let caller = CallerSlot::default();
    parts.extensions.insert(caller.clone());
    let method = parts.method.to_string();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    let request_headers = visible_headers(&parts.headers);
    let response = next
        .run(Request::from_parts(
            parts,
            Body::from(request_bytes.clone()),
        ))
        .await;
    let (response_parts, body) = response.into_parts();
    let (response_bytes, broken) = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => (bytes, false),
        Err(_) => (Bytes::new(), true),
    };
    let principal = caller.get();
    journal.record(Entry {
        id: new_id(),
        at: format_ms(at_ms),
        at_ms,
        method,
        path,
        query,
        status: response_parts.status.as_u16(),
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        token_kind: principal.map(|p| format!("{:?}", p.kind)),
        client_id: principal.map(|p| p.client.clone()),
        location_id: principal.map(|p| {
            p.location_id
                .clone()
                .unwrap_or_else(|| p.company_id.clone())
        }),
        request_headers,
        request_body: kept_body(&request_bytes),
        response_body: if broken {
            Some("(connection dropped)".to_owned())
        } else {
            kept_body(&response_bytes)
        },
    });
    if broken {
        // The answer broke off (a `drop` fault): break it off for the client too.
        let stream = futures_util::stream::iter([Err::<Bytes, _>(std::io::Error::other(
            "response body failed",
        ))]);
        return Response::from_parts(response_parts, Body::from_stream(stream));
    }
    Response::from_parts(response_parts, Body::from(response_bytes))
}

#[cfg(test)]
mod tests {
    use axum::http::header::{AUTHORIZATION, COOKIE};

    use super::*;

    fn entry(method: &str, path: &str, body: Option<&str>, at_ms: i64) -> Entry {
        Entry {
            id: new_id(),
            at: format_ms(at_ms),
            at_ms,
            method: method.into(),
            path: path.into(),
            query: None,
            status: 201,
            latency_ms: 1.0,
            token_kind: None,
            client_id: None,
            location_id: Some("L".into()),
            request_headers: BTreeMap::new(),
            request_body: body.map(str::to_owned),
            response_body: None,
        }
    }

    #[test]
    fn questions_and_capacity() {
        let journal = Journal::new(3, 1024);
        journal.record(entry(
            "POST",
            "/contacts/",
            Some(r#"{"email":"a@x.co"}"#),
            10,
        ));
        journal.record(entry(
            "POST",
            "/contacts/",
            Some(r#"{"email":"b@x.co"}"#),
            20,
        ));
        journal.record(entry("GET", "/contacts/abc", None, 30));
        let posts = Query {
            method: Some("post".into()),
            path: Some("/contacts".into()),
            ..Query::default()
        };
        assert_eq!(journal.count(&posts), 2);
        let with_a = Query {
            body_contains: Some("a@x.co".into()),
            ..posts.clone()
        };
        assert_eq!(journal.count(&with_a), 1);
        let since = Query {
            since_ms: Some(20),
            ..posts.clone()
        };
        assert_eq!(journal.count(&since), 1);
        assert_eq!(
            journal.find(&Query::default(), 10)[0].method,
            "GET",
            "newest first"
        );
        journal.record(entry("DELETE", "/contacts/abc", None, 40));
        assert_eq!(journal.count(&Query::default()), 3, "the oldest went");
        assert_eq!(journal.count(&with_a), 0);
        assert_eq!(journal.clear(), 3);
    }

    #[test]
    fn secrets_are_redacted_and_bodies_capped() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, "Bearer pit-secret".parse().unwrap());
        headers.insert(COOKIE, "hilo_session=secret".parse().unwrap());
        headers.insert("version", "2021-07-28".parse().unwrap());
        let shown = visible_headers(&headers);
        assert_eq!(shown["authorization"], "[redacted]");
        assert_eq!(shown["cookie"], "[redacted]");
        assert_eq!(shown["version"], "2021-07-28");
        let form = kept_body(
            b"client_id=app&client_secret=s3cret&grant_type=refresh_token&refresh_token=r1",
        )
        .unwrap();
        assert_eq!(form, "client_id=app&client_secret=%5Bredacted%5D&grant_type=refresh_token&refresh_token=%5Bredacted%5D");
        let json = kept_body(br#"{"access_token":"eyJ","token_type":"Bearer"}"#).unwrap();
        assert_eq!(
            json,
            r#"{"access_token":"[redacted]","token_type":"Bearer"}"#
        );
        assert_eq!(
            kept_body(br#"{"email":"a@x.co"}"#).unwrap(),
            r#"{"email":"a@x.co"}"#
        );
        let big = vec![b'x'; BODY_CAP + 10];
        let kept = capped(&big).unwrap();
        assert!(kept.ends_with(&format!("… ({} bytes)", BODY_CAP + 10)));
        assert_eq!(capped(b""), None);
    }
}
