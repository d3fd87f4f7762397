//! Workflows (spec: `workflows.json`) and a contact's workflow enrolment (spec: `contacts.json`,
//! `CreateWorkflowDto`, `ContactsWorkflowSuccessfulResponseDto`).

use serde::{Deserialize, Serialize};

/// A row of `GET /workflows/` (spec: `WorkflowSchema`); ids are UUIDs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    pub id: String,
    pub name: String,
    pub status: String,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
    pub location_id: String,
}

/// `GET /workflows/` (spec: `GetWorkflowSuccessfulResponseDto`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorkflowsResponse {
    pub workflows: Vec<Workflow>,
}

/// The body of `POST` and `DELETE /contacts/{contactId}/workflow/{workflowId}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowEnrolment {
    /// When the contact's run starts (ISO 8601 with an offset, e.g. `2021-06-23T03:30:00+01:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_start_time: Option<String>,
}
