//! Campaigns (spec: `campaigns.json`) and a contact's campaign enrolment (spec: `contacts.json`,
//! `AddContactToCampaignDto`, `CreateDeleteCantactsCampaignsSuccessfulResponseDto`).

use serde::{Deserialize, Serialize};

/// A row of `GET /campaigns/` (spec: `campaignsSchema`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Campaign {
    pub id: String,
    pub name: String,
    pub status: String,
    pub location_id: String,
}

/// `GET /campaigns/` (spec: `CampaignsSuccessfulResponseDto`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CampaignsResponse {
    pub campaigns: Vec<Campaign>,
}

/// The body of `POST /contacts/{contactId}/campaigns/{campaignId}`: an empty object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct AddContactToCampaign {}
