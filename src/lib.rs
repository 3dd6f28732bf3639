//! marathon-operator: run Marathon apps on Kubernetes.
//!
//! # Architecture
//!
//! ```text
//! Marathon JSON --POST /v2/apps--> marathon_api --SSA--> MarathonApp (CR) <-- kubectl apply
//!                                                          |
//!                                       controllers (reconcile, SSA, owner refs)
//!                                                          v
//!                  Deployment | StatefulSet, Service, HPA, PVC, PV, Events
//! ```
//!
//! # Dependency direction
//!
//! Dependencies point one way only, and `tests/architecture.rs` enforces it:
//!
//! * [`crd`]: the resource types (`MarathonApp`, `HostVolume`). Imports nothing from this crate.
//! * [`translate`]: pure Marathon spec -> Kubernetes objects. Depends on [`crd`] only;
//!   no client, no `async`, no tokio. Same input, same bytes out.
//! * [`marathon`]: Marathon's model, pure like `translate`: ids, validation, tasks and
//!   counts, deployments, versions and the app JSON. Every door (status, API, CLI) computes
//!   these facts here.
//! * [`watch`]: the watch-fed caches every replica keeps, shared by the controllers (their
//!   triggers) and the Marathon API (its reads).
//! * [`controllers`]: reconcile resources with a `kube::Client`. Depends on the layers above
//!   and [`metrics`]; never on [`marathon_api`].
//! * [`marathon_api`]: the Marathon `/v2` REST facade. Reads the [`watch`] caches, writes only
//!   `MarathonApp` resources, never workload objects.
//! * [`cli`]: the migration commands (`convert`, `import`, `export`, `diff`). Depends on
//!   [`crd`], [`translate`] and [`marathon`]; like the facade it writes only `MarathonApp`
//!   resources.
//! * [`admin`], [`metrics`], [`telemetry`], [`config`], [`events`], [`http_server`]: leaves.
//! * [`testbed`]: starts a local control plane for `run` when no cluster is configured.
//! * `main.rs` wires everything and is the only place that spawns long-running tasks.

pub mod admin;
pub mod cli;
pub mod config;
pub mod controllers;
pub mod crd;
pub mod events;
pub mod http_server;
pub mod marathon;
pub mod marathon_api;
pub mod metrics;
pub mod telemetry;
pub mod testbed;
pub mod translate;
pub mod watch;
