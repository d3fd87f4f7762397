//! Wire types of the HighLevel API v2 (`Version: 2021-07-28`): the JSON bodies that go over the
//! wire, with HighLevel's field names, wrappers and quirks (`succeded`, `buiseness`). No I/O here:
//! the server and the SDK both build on these so they cannot drift apart.

pub mod appointments;
pub mod bulk_tags;
pub mod businesses;
pub mod campaigns;
pub mod contacts;
pub mod custom_fields;
pub mod error;
pub mod followers;
pub mod marketplace;
pub mod notes;
pub mod oauth;
pub mod patch;
pub mod tasks;
pub mod workflows;

pub use patch::Patch;
