//! Contact followers (spec: `FollowersDTO`, `CreateAddFollowersSuccessfulResponseDto`,
//! `DeleteFollowersSuccessfulResponseDto`). Followers are user ids.

use serde::{Deserialize, Serialize};

/// The body of `POST` and `DELETE /contacts/{contactId}/followers`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FollowersBody {
    pub followers: Vec<String>,
}

/// `POST …/followers`: every follower after the call, and those it added.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FollowersAddedResponse {
    pub followers: Vec<String>,
    pub followers_added: Vec<String>,
}

/// `DELETE …/followers`: the remaining followers, and those it removed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FollowersRemovedResponse {
    pub followers: Vec<String>,
    pub followers_removed: Vec<String>,
}
