//! Automations over the HighLevel API v2, for any compatible base URL: hilo or HighLevel.
//!
//! A flow file names a trigger (a polling trigger of the catalog, or a webhook received on
//! the runner's listener) and steps (catalog actions, `http` calls to other systems,
//! filters) whose inputs are templates over the trigger's item and earlier steps' answers.
//! The catalog is data compiled in: a trigger or action works as soon as the server
//! implements its operation. Cursors, runs and step logs live in a SQLite or PostgreSQL
//! store, so a runner that stops anywhere goes on without losing or repeating an item.

pub mod catalog;
pub mod flow;
pub mod poll;
pub mod request;
pub mod runner;
pub mod store;
pub mod template;
pub mod webhook;

pub use catalog::Catalog;
pub use flow::{Flow, FlowFile};
pub use runner::{Report, Runner};
pub use store::Store;
