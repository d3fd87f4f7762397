//! Where the bearer token comes from: a private integration token, or OAuth tokens that are
//! refreshed as they run out.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The app's OAuth credentials, from the marketplace (or `hilo admin app create`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: String,
}

/// Whose token it is: `POST /oauth/token`'s `user_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserType {
    Company,
    Location,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::Company => "Company",
            UserType::Location => "Location",
        }
    }
}

/// An OAuth token pair and what came with it. Serializable so a [`TokenSink`] can store it
/// and a later process can start from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthTokens {
    pub access_token: String,
    pub refresh_token: String,
    /// When the access token stops working, in seconds since the Unix epoch.
    pub expires_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<UserType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<String>,
}

impl OAuthTokens {
    /// Whether the access token expires within `margin` from now.
    pub(crate) fn expires_within(&self, margin: Duration) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        self.expires_at <= now.saturating_add(margin.as_secs())
    }

    /// The tokens of a `POST /oauth/token` answer.
    pub(crate) fn from_token_response(
        response: TokenResponse,
        previous: &OAuthTokens,
    ) -> OAuthTokens {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        OAuthTokens {
            access_token: response.access_token,
            // A server that does not rotate refresh tokens keeps the old one valid.
            refresh_token: response
                .refresh_token
                .unwrap_or_else(|| previous.refresh_token.clone()),
            expires_at: now.saturating_add(response.expires_in),
            user_type: response.user_type.or(previous.user_type),
            scope: response.scope.or_else(|| previous.scope.clone()),
            location_id: response
                .location_id
                .or_else(|| previous.location_id.clone()),
            company_id: response.company_id.or_else(|| previous.company_id.clone()),
        }
    }
}

/// `POST /oauth/token`'s answer, the fields the client keeps.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    expires_in: u64,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default, rename = "userType")]
    user_type: Option<UserType>,
    #[serde(default, rename = "locationId")]
    location_id: Option<String>,
    #[serde(default, rename = "companyId")]
    company_id: Option<String>,
}

/// Told of every rotated token pair, before any request uses it. HighLevel invalidates the old
/// refresh token on each refresh, so a pair that is not stored is lost with the process.
pub trait TokenSink: Send + Sync {
    fn tokens_rotated(&self, tokens: &OAuthTokens);
}

impl<F: Fn(&OAuthTokens) + Send + Sync> TokenSink for F {
    fn tokens_rotated(&self, tokens: &OAuthTokens) {
        self(tokens)
    }
}

pub(crate) enum Auth {
    Private(String),
    OAuth(Box<OAuthAuth>),
}

pub(crate) struct OAuthAuth {
    pub(crate) app: OAuthApp,
    /// One lock for reading and refreshing: concurrent callers that find the token stale wait
    /// for the one refresh instead of each making their own.
    pub(crate) tokens: tokio::sync::Mutex<OAuthTokens>,
    pub(crate) sink: Option<Arc<dyn TokenSink>>,
    /// Refresh this long before the token runs out.
    pub(crate) refresh_margin: Duration,
}
