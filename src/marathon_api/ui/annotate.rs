//! Validation errors at the field they are about: the pasted definition is shown line by line
//! (pretty-printed, key order kept) and each violation is placed under the line of its
//! Marathon path (`/healthChecks(0)/portIndex`); a field that is missing goes under its
//! parent. Text that is not JSON at all gets the parser's message under the line it names.

use serde_json::Value;

use crate::marathon::validation::Violation;

/// One line of the shown definition and the errors placed under it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    /// The Marathon path the line holds (`None` for closing brackets).
    pub path: Option<String>,
    pub errors: Vec<String>,
}

/// A violation with the line it was placed at (1-based), for the summary's links.
#[derive(Debug, PartialEq, Eq)]
pub struct Placed {
    pub path: String,
    pub message: String,
    pub line: usize,
}

/// The definition with every violation placed at its field.
pub fn annotate(json: &Value, violations: &[Violation]) -> (Vec<Line>, Vec<Placed>) {
    let mut lines = Vec::new();
    pretty(json, "/", None, 0, false, &mut lines);
    let mut placed = Vec::new();
    for violation in violations {
        let at = line_of(&lines, &violation.path);
        lines[at].errors.push(violation.to_string());
        placed.push(Placed {
            path: violation.path.clone(),
            message: violation.to_string(),
            line: at + 1,
        });
    }
    (lines, placed)
}

/// Text that does not parse: every line as given, the parser's message under `line`.
pub fn annotate_syntax(text: &str, line: usize, message: &str) -> (Vec<Line>, Vec<Placed>) {
    let mut lines: Vec<Line> =
        text.lines().map(|l| Line { text: l.to_owned(), ..Line::default() }).collect();
    if lines.is_empty() {
        lines.push(Line::default());
    }
    let at = line.clamp(1, lines.len()) - 1;
    lines[at].errors.push(message.to_owned());
    (lines, vec![Placed { path: "/".into(), message: message.to_owned(), line: at + 1 }])
}

/// The line holding `path`, else the line of its nearest ancestor (the first line is `/`).
fn line_of(lines: &[Line], path: &str) -> usize {
    let mut path = path.to_owned();
    loop {
        if let Some(at) = lines.iter().position(|l| l.path.as_deref() == Some(path.as_str())) {
            return at;
        }
        match parent(&path) {
            Some(up) => path = up,
            None => return 0,
        }
    }
}

/// `/a/b(0)` -> `/a/b` -> `/a` -> `/`.
fn parent(path: &str) -> Option<String> {
    if path == "/" || path.is_empty() {
        return None;
    }
    if path.ends_with(')')
        && let Some(open) = path.rfind('(')
    {
        return Some(path[..open].to_owned());
    }
    match path.rfind('/') {
        Some(0) | None => Some("/".to_owned()),
        Some(at) => Some(path[..at].to_owned()),
    }
}

fn pretty(
    value: &Value,
    path: &str,
    key: Option<&str>,
    indent: usize,
    comma: bool,
    out: &mut Vec<Line>,
) {
    let pad = "  ".repeat(indent);
    let prefix = match key {
        Some(k) => format!("{pad}{}: ", Value::String(k.to_owned())),
        None => pad.clone(),
    };
    let comma_text = if comma { "," } else { "" };
    let line = |text: String, path: Option<&str>| Line {
        text,
        path: path.map(str::to_owned),
        errors: Vec::new(),
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push(line(format!("{prefix}{{"), Some(path)));
            for (at, (k, v)) in map.iter().enumerate() {
                let child = if path == "/" { format!("/{k}") } else { format!("{path}/{k}") };
                pretty(v, &child, Some(k), indent + 1, at + 1 < map.len(), out);
            }
            out.push(line(format!("{pad}}}{comma_text}"), None));
        }
        Value::Array(items) if !items.is_empty() => {
            out.push(line(format!("{prefix}["), Some(path)));
            for (at, v) in items.iter().enumerate() {
                pretty(v, &format!("{path}({at})"), None, indent + 1, at + 1 < items.len(), out);
            }
            out.push(line(format!("{pad}]{comma_text}"), None));
        }
        scalar => out.push(line(format!("{prefix}{scalar}{comma_text}"), Some(path))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn errors_land_under_their_field() {
        let app = json!({
            "id": "/Web",
            "instances": 1,
            "healthChecks": [{"protocol": "HTTP", "portIndex": 3}]
        });
        let violations = [
            Violation::new("/id", "must be lower case"),
            Violation::new("/healthChecks(0)/portIndex", "out of range"),
            // A missing field is shown at its parent.
            Violation::new("/healthChecks(0)/path", "error.path.missing"),
            Violation::new("/", "needs cmd"),
        ];
        let (lines, placed) = annotate(&app, &violations);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "{",
                r#"  "id": "/Web","#,
                r#"  "instances": 1,"#,
                r#"  "healthChecks": ["#,
                "    {",
                r#"      "protocol": "HTTP","#,
                r#"      "portIndex": 3"#,
                "    }",
                "  ]",
                "}",
            ]
        );
        assert_eq!(lines[1].errors, ["/id: must be lower case"]);
        assert_eq!(lines[6].errors, ["/healthChecks(0)/portIndex: out of range"]);
        assert_eq!(lines[4].errors, ["/healthChecks(0)/path: error.path.missing"]);
        assert_eq!(lines[0].errors, ["needs cmd"]);
        assert_eq!(placed.iter().map(|p| p.line).collect::<Vec<_>>(), [2, 7, 5, 1]);
    }

    #[test]
    fn syntax_errors_land_on_the_parsers_line() {
        let (lines, placed) =
            annotate_syntax("{\n  \"id\": \"/a\"\n  \"cmd\": 1\n}", 3, "expected `,`");
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[2].errors, ["expected `,`"]);
        assert_eq!(placed[0].line, 3);
        let (lines, _) = annotate_syntax("", 1, "EOF");
        assert_eq!(lines[0].errors, ["EOF"]);
    }
}
