//! The client: one connection pool, one token source, one pacer, shared by clones.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, RETRY_AFTER};
pub use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::auth::{Auth, OAuthApp, OAuthAuth, OAuthTokens, TokenResponse, TokenSink};
use crate::error::Error;
use crate::pacing::{Pacer, RateLimitState};
use crate::retry::{parse_retry_after, RetryPolicy};
use crate::API_VERSION;

/// A HighLevel API client. Cheap to clone: clones share tokens, connections and pacing.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    auth: Auth,
    retry: RetryPolicy,
    pacer: Option<Pacer>,
}

/// Builds a [`Client`]; a token source is required.
pub struct ClientBuilder {
    base_url: String,
    auth: Option<Auth>,
    sink: Option<Arc<dyn TokenSink>>,
    retry: RetryPolicy,
    pacing: bool,
    timeout: Duration,
    http: Option<reqwest::Client>,
}

impl ClientBuilder {
    /// A private integration token (`pit-…`), or any bearer token that is not refreshed.
    pub fn private_token(mut self, token: impl Into<String>) -> ClientBuilder {
        self.auth = Some(Auth::Private(token.into()));
        self
    }

    /// OAuth tokens of `app`, refreshed before they expire and on a 401.
    pub fn oauth(mut self, app: OAuthApp, tokens: OAuthTokens) -> ClientBuilder {
        self.auth = Some(Auth::OAuth(Box::new(OAuthAuth {
            app,
            tokens: tokio::sync::Mutex::new(tokens),
            sink: None,
            refresh_margin: Duration::from_secs(60),
        })));
        self
    }

    /// Called with each rotated token pair (OAuth only).
    pub fn on_tokens_rotated(mut self, sink: impl TokenSink + 'static) -> ClientBuilder {
        self.sink = Some(Arc::new(sink));
        self
    }

    pub fn retry(mut self, policy: RetryPolicy) -> ClientBuilder {
        self.retry = policy;
        self
    }

    /// Whether to slow down as `X-RateLimit-Remaining` runs low (on by default).
    pub fn pacing(mut self, on: bool) -> ClientBuilder {
        self.pacing = on;
        self
    }

    /// The limit on each attempt (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.timeout = timeout;
        self
    }

    /// Use this HTTP client (its own TLS, proxy or timeout settings) instead of a new one.
    pub fn http_client(mut self, http: reqwest::Client) -> ClientBuilder {
        self.http = Some(http);
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        let base_url = self.base_url.trim_end_matches('/').to_owned();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(Error::Config(format!(
                "base URL {base_url:?} is not an http(s) URL"
            )));
        }
        let mut auth = self
            .auth
            .ok_or_else(|| Error::Config("no token source: private_token or oauth".into()))?;
        if let (Auth::OAuth(oauth), Some(sink)) = (&mut auth, self.sink) {
            oauth.sink = Some(sink);
        }
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .timeout(self.timeout)
                .build()
                .map_err(Error::Transport)?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                auth,
                retry: self.retry,
                pacer: self.pacing.then(Pacer::default),
            }),
        })
    }
}

/// One request, built up then sent.
#[must_use = "a request does nothing until it is sent"]
pub struct Request {
    client: Client,
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Body>,
}

/// What a request carries.
enum Body {
    Json(Value),
    Form(Vec<(String, String)>),
}

impl Request {
    /// Adds a query parameter.
    pub fn query(mut self, name: impl Into<String>, value: impl ToString) -> Request {
        self.query.push((name.into(), value.to_string()));
        self
    }

    /// Adds a query parameter when there is a value.
    pub fn query_opt(self, name: impl Into<String>, value: Option<impl ToString>) -> Request {
        match value {
            Some(value) => self.query(name, value),
            None => self,
        }
    }

    /// Adds query parameters.
    pub fn query_pairs<K: Into<String>, V: ToString>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Request {
        self.query
            .extend(pairs.into_iter().map(|(k, v)| (k.into(), v.to_string())));
        self
    }

    /// Sends `body` as JSON.
    pub fn json(mut self, body: &impl Serialize) -> Result<Request, Error> {
        let value = serde_json::to_value(body).map_err(|e| Error::Decode(e.to_string()))?;
        self.body = Some(Body::Json(value));
        Ok(self)
    }

    /// Sends `pairs` as an `application/x-www-form-urlencoded` body.
    pub fn form<K: Into<String>, V: ToString>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Request {
        let pairs = pairs.into_iter();
        self.body = Some(Body::Form(
            pairs.map(|(k, v)| (k.into(), v.to_string())).collect(),
        ));
        self
    }

    /// Sends the request (retrying as the policy says) and returns the JSON body
    /// (`Value::Null` for an empty one).
    pub async fn send(self) -> Result<Value, Error> {
        Ok(self.send_full().await?.body)
    }

    /// Sends the request and decodes the body as `T`.
    pub async fn send_as<T: DeserializeOwned>(self) -> Result<T, Error> {
        let body = self.send().await?;
        serde_json::from_value(body).map_err(|e| Error::Decode(e.to_string()))
    }

    /// Sends the request and returns status, headers and body.
    pub async fn send_full(self) -> Result<Response, Error> {
        self.client
            .execute(&self.method, &self.path, &self.query, self.body.as_ref())
            .await
    }
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Client {
    /// A builder for the server at `base_url` (`http://127.0.0.1:8080`, or
    /// [`HIGHLEVEL_BASE_URL`](crate::HIGHLEVEL_BASE_URL)).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            auth: None,
            sink: None,
            retry: RetryPolicy::default(),
            pacing: true,
            timeout: Duration::from_secs(30),
            http: None,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// A request to `path` (starting with `/`, relative to the base URL).
    pub fn request(&self, method: Method, path: &str) -> Request {
        Request {
            client: self.clone(),
            method,
            path: path.to_owned(),
            query: Vec::new(),
            body: None,
        }
    }

    pub fn get(&self, path: &str) -> Request {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Request {
        self.request(Method::POST, path)
    }

    pub fn put(&self, path: &str) -> Request {
        self.request(Method::PUT, path)
    }

    pub fn delete(&self, path: &str) -> Request {
        self.request(Method::DELETE, path)
    }

    /// The rate limits the last response reported.
    pub fn rate_limit(&self) -> Option<RateLimitState> {
        self.inner.pacer.as_ref().and_then(Pacer::last)
    }

    /// The OAuth tokens in use now (`None` for a private token).
    pub async fn oauth_tokens(&self) -> Option<OAuthTokens> {
        match &self.inner.auth {
            Auth::Private(_) => None,
            Auth::OAuth(oauth) => Some(oauth.tokens.lock().await.clone()),
        }
    }

    /// The bearer token the next request would carry, refreshing OAuth tokens first when they
    /// are about to expire (or are not known yet: an `expires_at` of 0).
    pub async fn access_token(&self) -> Result<String, Error> {
        self.bearer().await
    }

    async fn execute(
        &self,
        method: &Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Body>,
    ) -> Result<Response, Error> {
        let url = format!("{}{}", self.inner.base_url, path);
        let retry = &self.inner.retry;
        let mut attempt = 0;
        let mut refreshed_after_401 = false;
        loop {
            if let Some(pacer) = &self.inner.pacer {
                let wait = pacer.reserve();
                if !wait.is_zero() {
                    tracing::debug!(?wait, "pacing before the rate limit is reached");
                    tokio::time::sleep(wait).await;
                }
            }
            let token = self.bearer().await?;
            let mut request = self
                .inner
                .http
                .request(method.clone(), &url)
                .header(AUTHORIZATION, format!("Bearer {token}"))
                .header("Version", API_VERSION)
                .header(ACCEPT, "application/json");
            if !query.is_empty() {
                request = request.query(query);
            }
            match body {
                Some(Body::Json(body)) => request = request.json(body),
                Some(Body::Form(pairs)) => request = request.form(pairs),
                None => {}
            }
            let answer = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    response.bytes().await.map(|bytes| (status, headers, bytes))
                }
                Err(error) => Err(error),
            };
            let (status, headers, bytes) = match answer {
                Ok(answer) => answer,
                Err(error) if attempt < retry.max_retries && transient(&error, method) => {
                    let wait = retry.backoff(attempt);
                    tracing::debug!(%error, ?wait, attempt, "connection failed, retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
                Err(error) => return Err(Error::Transport(error)),
            };
            if let Some(pacer) = &self.inner.pacer {
                pacer.observe(&headers);
            }
            if (200..300).contains(&status) {
                let body = if bytes.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(&bytes).map_err(|e| Error::Decode(e.to_string()))?
                };
                return Ok(Response {
                    status,
                    headers,
                    body,
                });
            }
            if status == 401 && !refreshed_after_401 && self.refresh_after_401(&token).await? {
                refreshed_after_401 = true;
                continue;
            }
            let retry_after = headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            match retry.wait_for_status(attempt, status, retry_after) {
                Some(wait) => {
                    tracing::debug!(status, ?wait, attempt, "refused, retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                None => return Err(Error::from_response(status, &bytes)),
            }
        }
    }

    /// The bearer token for the next request, refreshing OAuth tokens about to expire.
    async fn bearer(&self) -> Result<String, Error> {
        match &self.inner.auth {
            Auth::Private(token) => Ok(token.clone()),
            Auth::OAuth(oauth) => {
                let mut tokens = oauth.tokens.lock().await;
                if tokens.expires_within(oauth.refresh_margin) {
                    self.refresh(oauth, &mut tokens).await?;
                }
                Ok(tokens.access_token.clone())
            }
        }
    }

    /// After a 401 for `used`: refreshes unless another caller already has (the token in use
    /// is no longer `used`). Whether the request is worth sending again.
    async fn refresh_after_401(&self, used: &str) -> Result<bool, Error> {
        let Auth::OAuth(oauth) = &self.inner.auth else {
            return Ok(false);
        };
        let mut tokens = oauth.tokens.lock().await;
        if tokens.access_token == used {
            self.refresh(oauth, &mut tokens).await?;
        }
        Ok(true)
    }

    /// `POST /oauth/token` with `grant_type=refresh_token`, under the tokens' lock.
    async fn refresh(&self, oauth: &OAuthAuth, tokens: &mut OAuthTokens) -> Result<(), Error> {
        let mut form = vec![
            ("client_id", oauth.app.client_id.as_str()),
            ("client_secret", oauth.app.client_secret.as_str()),
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens.refresh_token.as_str()),
        ];
        if let Some(user_type) = tokens.user_type {
            form.push(("user_type", user_type.as_str()));
        }
        let url = format!("{}/oauth/token", self.inner.base_url);
        let retry = &self.inner.retry;
        let mut attempt = 0;
        let response = loop {
            let answer = self
                .inner
                .http
                .post(&url)
                .header(ACCEPT, "application/json")
                .form(&form)
                .send()
                .await;
            let error = match answer {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    let bytes = response.bytes().await.map_err(Error::Transport);
                    let bytes = bytes.map_err(|e| Error::Refresh(Box::new(e)))?;
                    if (200..300).contains(&status) {
                        break serde_json::from_slice::<TokenResponse>(&bytes)
                            .map_err(|e| Error::Refresh(Box::new(Error::Decode(e.to_string()))))?;
                    }
                    match retry.wait_for_status(attempt, status, retry_after) {
                        Some(wait) => {
                            tokio::time::sleep(wait).await;
                            attempt += 1;
                            continue;
                        }
                        None => Error::from_response(status, &bytes),
                    }
                }
                Err(error) if attempt < retry.max_retries && transient(&error, &Method::POST) => {
                    tokio::time::sleep(retry.backoff(attempt)).await;
                    attempt += 1;
                    continue;
                }
                Err(error) => Error::Transport(error),
            };
            return Err(Error::Refresh(Box::new(error)));
        };
        *tokens = OAuthTokens::from_token_response(response, tokens);
        tracing::debug!("OAuth tokens refreshed");
        if let Some(sink) = &oauth.sink {
            sink.tokens_rotated(tokens);
        }
        Ok(())
    }
}

/// Errors worth sending the request again for: no connection was made (the server never saw
/// it), or, for methods that may be repeated without harm, the request or its answer was cut
/// off. A POST cut off midway may have been carried out: sending it again could create a
/// second contact, so that error is returned instead.
fn transient(error: &reqwest::Error, method: &Method) -> bool {
    let repeatable = matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    );
    error.is_connect()
        || repeatable && (error.is_timeout() || error.is_request() || error.is_body())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    use super::*;

    /// A server that reads each request and hangs up without answering; it counts them.
    async fn hang_up_server() -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buffer = [0u8; 4096];
                if socket.read(&mut buffer).await.unwrap_or(0) > 0 {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        (base, seen)
    }

    fn client(base: &str, base_backoff: Duration) -> Client {
        Client::builder(base)
            .private_token("pit-test")
            .retry(RetryPolicy {
                max_retries: 2,
                base_backoff,
                ..RetryPolicy::default()
            })
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn a_cut_off_post_is_not_sent_again_but_a_get_is() {
        let (base, seen) = hang_up_server().await;
        let client = client(&base, Duration::from_millis(1));
        let post = client
            .post("/contacts/")
            .json(&serde_json::json!({"firstName": "Ada"}));
        assert!(matches!(
            post.unwrap().send().await,
            Err(Error::Transport(_))
        ));
        assert_eq!(seen.load(Ordering::SeqCst), 1, "the POST went out once");

        assert!(client.get("/contacts/x").send().await.is_err());
        assert_eq!(
            seen.load(Ordering::SeqCst),
            1 + 3,
            "the GET went out three times"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_tried_again_whatever_the_method() {
        // Nothing listens on a port just freed; each try is refused before anything is sent.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let started = std::time::Instant::now();
        let result = client(&base, Duration::from_millis(100))
            .post("/contacts/")
            .send()
            .await;
        assert!(matches!(result, Err(Error::Transport(e)) if e.is_connect()));
        // Both retries waited their backoff (at least 50 ms, then 100 ms): they were made.
        assert!(started.elapsed() >= Duration::from_millis(150));
    }
}
