//! Logging set-up. A leaf: imports nothing from this crate but the log format.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// Installs the global tracing subscriber; `RUST_LOG` overrides the default `info` filter.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    // A second init (tests) is harmless, so the error is ignored on purpose.
    let _ = match format {
        LogFormat::Plain => registry.with(fmt::layer().with_target(true)).try_init(),
        LogFormat::Json => registry.with(fmt::layer().json().flatten_event(true)).try_init(),
    };
}

/// An error and its sources on one line (`Display` of most errors omits the sources). A
/// Kubernetes API server's answer ends the chain with its own message, which says it all.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        if let Some(kube::Error::Api(status)) = cause.downcast_ref::<kube::Error>() {
            parts.push(status.message.clone());
            break;
        }
        parts.push(cause.to_string());
        next = cause.source();
    }
    parts.join(": ")
}
