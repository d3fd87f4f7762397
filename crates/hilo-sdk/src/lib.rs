//! An async client for the HighLevel API v2 at any base URL: a hilo server, or HighLevel's
//! own `https://services.leadconnectorhq.com`.
//!
//! - Tokens: a private integration token, or OAuth tokens refreshed once for all concurrent
//!   callers, before they expire and again on a 401, with a hook to persist the rotated pair.
//! - Retries with exponential backoff and jitter on 429, 5xx and connection errors, honouring
//!   `Retry-After`; pacing from `X-RateLimit-Remaining` so a busy client slows down before it
//!   is refused.
//! - Errors carry the status, HighLevel's message and the `traceId`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), hilo_sdk::Error> {
//! let client = hilo_sdk::Client::builder("http://127.0.0.1:8080")
//!     .private_token("pit-…")
//!     .build()?;
//! let contact = client.get("/contacts/abc").send().await?;
//! println!("{}", contact["contact"]["email"]);
//! # Ok(()) }
//! ```

mod auth;
mod client;
mod error;
mod pacing;
mod retry;

pub use auth::{OAuthApp, OAuthTokens, TokenSink, UserType};
pub use client::{Client, ClientBuilder, Method, Request, Response};
pub use error::{ApiError, Error};
pub use pacing::RateLimitState;
pub use retry::RetryPolicy;

/// The API version every request announces.
pub const API_VERSION: &str = "2021-07-28";

/// HighLevel's production base URL.
pub const HIGHLEVEL_BASE_URL: &str = "https://services.leadconnectorhq.com";
