//! Pure translation of Marathon app definitions into Kubernetes objects.
//!
//! No client, no `async`, no tokio: the same input gives the same bytes out. Used by the
//! controllers, the Marathon API's validation and the offline `convert` CLI.

pub mod names;
