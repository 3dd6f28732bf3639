//! Fuzz targets of the operator's pure layers; the checks live in `checks.rs` so that
//! `tests/fuzz_replay.rs` can replay the seeds through the very same code on stable Rust.

pub mod checks;
