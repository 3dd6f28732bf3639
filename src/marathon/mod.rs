//! Marathon's model, pure: ids, validation, tasks, counts, deployments, versions and the app
//! JSON every door emits. The controllers (status), the Marathon API, the CLI and the UI all
//! compute these facts here, so they can never disagree.
//!
//! Same rules as `translate`: no client, no `async`, no tokio.

pub mod app_json;
pub mod cached;
pub mod child;
pub mod deployments;
pub mod dns;
pub mod events;
pub mod groups;
pub mod ids;
pub mod labels;
pub mod pod;
pub mod revision;
pub mod rules;
pub mod tasks;
pub mod validation;
pub mod versions;
pub mod workload;
