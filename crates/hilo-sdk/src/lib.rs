//! An async client for the HighLevel API v2 at any base URL: a hilo server, or HighLevel's
//! own `https://services.leadconnectorhq.com`.
//!
//! - Typed calls per resource: [`Client::contacts`], [`Client::businesses`],
//!   [`Client::campaigns`], [`Client::workflows`], [`Client::custom_fields`], [`Client::oauth`],
//!   [`Client::marketplace`], with the wire types of `hilo-types`; lists as streams over every
//!   page.
//! - Tokens: a private integration token, or OAuth tokens refreshed once for all concurrent
//!   callers, before they expire and again on a 401, with a hook to persist the rotated pair.
//! - Retries with exponential backoff and jitter on 429, 5xx and connection errors (a POST cut
//!   off after it was sent is not repeated), honouring `Retry-After`; pacing from
//!   `X-RateLimit-Remaining` so a busy client slows down before it is refused.
//! - Errors carry the status, HighLevel's message and the `traceId`.
//! - [`webhooks::verify`] checks both webhook signature schemes over the raw body.
//!
//! ```no_run
//! # async fn demo() -> Result<(), hilo_sdk::Error> {
//! let client = hilo_sdk::Client::builder("http://127.0.0.1:8080")
//!     .private_token("pit-…")
//!     .build()?;
//! let contact = client.contacts().get("abc").await?;
//! println!("{:?}", contact.email);
//! # Ok(()) }
//! ```

mod auth;
mod businesses;
mod campaigns;
mod client;
mod contacts;
mod custom_fields;
mod error;
mod marketplace;
mod notes;
mod oauth;
mod pacing;
mod paging;
mod retry;
mod tasks;
pub mod webhooks;
mod workflows;

pub use auth::{OAuthApp, OAuthTokens, TokenSink, UserType};
pub use businesses::Businesses;
pub use campaigns::Campaigns;
pub use client::{Client, ClientBuilder, Method, Request, Response};
pub use contacts::{BulkTagsOp, Contacts, DuplicateBy, ListContacts, Page};
pub use custom_fields::CustomFields;
pub use error::{ApiError, Error};
pub use hilo_types as types;
pub use marketplace::Marketplace;
pub use notes::Notes;
pub use oauth::{InstalledLocationsQuery, OAuth};
pub use pacing::RateLimitState;
pub use paging::seg as path_segment;
pub use retry::RetryPolicy;
pub use tasks::Tasks;
pub use workflows::Workflows;

/// The API version every request announces.
pub const API_VERSION: &str = "2021-07-28";

/// HighLevel's production base URL.
pub const HIGHLEVEL_BASE_URL: &str = "https://services.leadconnectorhq.com";
