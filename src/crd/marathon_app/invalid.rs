//! Checks the CRD schema cannot make: fields whose JSON type varies (env values,
//! `unreachableStrategy`, `resourceLimits`) are invisible to CEL, so they are checked here.

use super::{EnvValue, MarathonAppSpec, ResourceLimit, UnreachableStrategy};

impl MarathonAppSpec {
    /// Problems with values the API server cannot validate, as `"<path>: <message>"` lines
    /// (empty when all is well). The controller reports them as `Degraded`; the Marathon API
    /// answers 422 with them.
    pub fn invalid_values(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, value) in self.env.iter().flatten() {
            if name.is_empty() {
                out.push("env: environment variable names must not be empty".into());
            }
            match value {
                EnvValue::Value(_) => {}
                EnvValue::Secret(r) => {
                    if !self.secrets.as_ref().is_some_and(|s| s.contains_key(&r.secret)) {
                        out.push(format!(
                            "env.{name}: references secret {:?}, which is not declared in secrets",
                            r.secret
                        ));
                    }
                }
                EnvValue::Invalid(_) => {
                    out.push(format!("env.{name}: must be a string or {{\"secret\": \"<name>\"}}"))
                }
            }
        }
        match self.unreachable_strategy.as_deref() {
            Some(UnreachableStrategy::Invalid(_)) => out.push(
                "unreachableStrategy: must be \"disabled\" or {inactiveAfterSeconds, expungeAfterSeconds}"
                    .into(),
            ),
            Some(UnreachableStrategy::Enabled(e)) => {
                let inactive = e.inactive_after_seconds.unwrap_or(0);
                let expunge = e.expunge_after_seconds.unwrap_or(0);
                if inactive < 0 || expunge < 0 {
                    out.push("unreachableStrategy: seconds must not be negative".into());
                } else if e.inactive_after_seconds.is_some()
                    && e.expunge_after_seconds.is_some()
                    && inactive > expunge
                {
                    out.push(
                        "unreachableStrategy: inactiveAfterSeconds must be less or equal to expungeAfterSeconds"
                            .into(),
                    );
                }
            }
            _ => {}
        }
        if let Some(limits) = &self.resource_limits {
            let pairs = [
                ("cpus", &limits.cpus, self.effective_cpus()),
                ("mem", &limits.mem, self.effective_mem()),
            ];
            for (name, limit, requested) in pairs {
                match limit {
                    Some(ResourceLimit::Invalid(_)) => out.push(format!(
                        "resourceLimits.{name}: must be a non-negative number or \"unlimited\""
                    )),
                    Some(ResourceLimit::Value(v)) if v.as_f64() < requested => out.push(format!(
                        "resourceLimits.{name}: resource limit must be greater than or equal to requested resource"
                    )),
                    _ => {}
                }
            }
        }
        out
    }
}
