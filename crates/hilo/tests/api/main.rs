//! HTTP tests against a running hilo server, each on SQLite and on PostgreSQL.

// A failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod harness;

mod bulk_tags;
mod businesses;
mod campaigns;
mod clock;
mod consent;
mod contacts;
mod contract;
mod control;
mod custom_fields;
mod duplicates;
mod faults;
mod fixtures;
mod flows;
mod followers;
mod journal;
mod notes;
mod oauth;
mod ratelimit;
mod reset;
mod schema;
mod sdk;
mod search;
mod tags;
mod tasks;
mod webhooks;
