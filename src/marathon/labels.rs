//! Marathon's label selector (`GET /v2/apps?label=`): comma-separated requirements that must
//! all hold: `k`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`; `\` escapes a character.
//! `!=` and `notin` also require the key to exist, as in Marathon.

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Requirement {
    Exists(String),
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector(Vec<Requirement>);

/// Splits on `sep` outside parentheses, honouring `\` escapes (kept for the next step).
fn split_top(text: &str, sep: char) -> Vec<String> {
    let (mut parts, mut current, mut depth, mut escaped) = (Vec::new(), String::new(), 0, false);
    for ch in text.chars() {
        match ch {
            _ if escaped => {
                current.push(ch);
                escaped = false;
                continue;
            }
            '\\' => escaped = true,
            '(' => depth += 1,
            ')' => depth -= 1,
            c if c == sep && depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(ch);
    }
    parts.push(current);
    parts
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.trim().chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => out.extend(chars.next()),
            other => out.push(other),
        }
    }
    out
}

fn set(values: &str) -> Result<Vec<String>, String> {
    let inner = values
        .trim()
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .ok_or_else(|| format!("expected a set like (a,b), got {values:?}"))?;
    Ok(split_top(inner, ',').iter().map(|v| unescape(v)).collect())
}

impl Selector {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for part in split_top(text, ',').iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
            let requirement = if let Some((key, value)) = part.split_once("==") {
                Requirement::Equals(unescape(key), unescape(value))
            } else if let Some((key, value)) = part.split_once("!=") {
                Requirement::NotEquals(unescape(key), unescape(value))
            } else if let Some((key, values)) = part.split_once(" notin ") {
                Requirement::NotIn(unescape(key), set(values)?)
            } else if let Some((key, values)) = part.split_once(" in ") {
                Requirement::In(unescape(key), set(values)?)
            } else if part.contains(['=', '(', ')', ' ']) {
                return Err(format!("Invalid label selector: {part:?}"));
            } else {
                Requirement::Exists(unescape(part))
            };
            requirements.push(requirement);
        }
        Ok(Self(requirements))
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|requirement| match requirement {
            Requirement::Exists(key) => labels.contains_key(key),
            Requirement::Equals(key, value) => labels.get(key) == Some(value),
            Requirement::NotEquals(key, value) => labels.get(key).is_some_and(|v| v != value),
            Requirement::In(key, values) => labels.get(key).is_some_and(|v| values.contains(v)),
            Requirement::NotIn(key, values) => labels.get(key).is_some_and(|v| !values.contains(v)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_match_like_marathons() {
        let labels: BTreeMap<String, String> = [("env", "prod"), ("tier", "web"), ("a,b", "x")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let ok = |s: &str| Selector::parse(s).unwrap().matches(&labels);
        assert!(ok("env"));
        assert!(ok("env==prod,tier==web"));
        assert!(!ok("env==dev"));
        assert!(ok("env!=dev"));
        assert!(!ok("missing!=x"), "!= needs the key");
        assert!(ok("tier in (web, api)"));
        assert!(!ok("tier notin (web,api)"));
        assert!(ok(r"a\,b==x"));
        assert!(Selector::parse("env=prod").is_err());
    }
}
