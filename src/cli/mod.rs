//! The migration command line: `convert`, `import` (`--follow` mirrors a live Marathon),
//! `cutover`, `export` and `diff`.
//!
//! Reading and checking Marathon JSON ([`input`], [`app`]) and the conversion ([`convert`]) are
//! pure; [`cluster`] holds the import, export and diff logic as library functions taking a
//! `kube::Client` and a namespace, which [`commands`] wraps for the terminal.

pub mod app;
pub mod args;
pub mod cluster;
pub mod commands;
pub mod convert;
pub mod cutover;
pub mod error;
pub mod follow;
pub mod input;
pub mod jsondiff;
pub mod progress;
pub mod remote;

pub use args::{ConvertArgs, CutoverArgs, DiffArgs, ExportArgs, ImportArgs, OutputKind};
pub use error::CliError;
