//! Reading Marathon JSON: files, directories (recursively, `*.json`), standard input or a body
//! fetched from Marathon, in any of the shapes Marathon reads or writes (see [`shapes`]).
//!
//! Reading never stops at the first bad input: every problem is collected with where it was
//! found, so one run reports all of them.

mod shapes;
mod split;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Where an app or a problem was found: the file (or `-`, or a URL) and the JSON pointer of the
/// object inside it (empty for the whole document).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub source: String,
    pub pointer: String,
}

impl Origin {
    pub fn new(source: impl Into<String>, pointer: impl Into<String>) -> Self {
        Self { source: source.into(), pointer: pointer.into() }
    }

    fn child(&self, key: impl fmt::Display) -> Self {
        Self { source: self.source.clone(), pointer: format!("{}/{key}", self.pointer) }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "{}", self.source)
        } else {
            write!(f, "{}#{}", self.source, self.pointer)
        }
    }
}

/// One app definition as found, its id already made absolute.
#[derive(Clone, Debug)]
pub struct RawApp {
    pub origin: Origin,
    pub json: Value,
}

/// Something said about an input: an error (the input is invalid) or a note (a warning).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub origin: Origin,
    pub text: String,
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.text)
    }
}

/// Everything read from a set of inputs.
#[derive(Debug, Default)]
pub struct Collected {
    pub apps: Vec<RawApp>,
    /// Invalid inputs: nothing from a batch with errors is applied (unless asked to).
    pub errors: Vec<Message>,
    /// Things not carried over (pods, group dependencies): warnings.
    pub notes: Vec<Message>,
}

impl Collected {
    fn error(&mut self, origin: Origin, text: impl Into<String>) {
        self.errors.push(Message { origin, text: text.into() });
    }

    fn note(&mut self, origin: Origin, text: impl Into<String>) {
        self.notes.push(Message { origin, text: text.into() });
    }

    /// Reads every input named on the command line: a file, a directory or `-` (standard input).
    pub fn read_args(inputs: &[PathBuf]) -> Self {
        let mut out = Self::default();
        for input in inputs {
            if input.as_os_str() == "-" {
                let mut text = String::new();
                match std::io::stdin().read_to_string(&mut text) {
                    Ok(_) => out.read_text("-", &text),
                    Err(err) => out.error(Origin::new("-", ""), format!("cannot read: {err}")),
                }
            } else {
                out.read_path(input);
            }
        }
        out
    }

    /// Reads a file, or every `*.json` file under a directory in name order (so output is
    /// stable).
    pub fn read_path(&mut self, path: &Path) {
        let source = path.display().to_string();
        if path.is_dir() {
            let mut files = Vec::new();
            if let Err(err) = json_files(path, &mut files) {
                self.error(Origin::new(source, ""), format!("cannot read directory: {err}"));
            }
            files.sort();
            for file in files {
                self.read_file(&file);
            }
        } else {
            self.read_file(path);
        }
    }

    fn read_file(&mut self, path: &Path) {
        let source = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => self.read_text(&source, &text),
            Err(err) => self.error(Origin::new(source, ""), format!("cannot read: {err}")),
        }
    }

    /// Parses one JSON document (a large one on every core, see [`split`]); syntax errors are
    /// reported as `source:line:column: message`.
    pub fn read_text(&mut self, source: &str, text: &str) {
        match split::parse(text) {
            Ok(value) => self.read_value(source, value),
            Err(err) => {
                let (line, column) = (err.line(), err.column());
                let full = err.to_string();
                let message = full
                    .strip_suffix(&format!(" at line {line} column {column}"))
                    .unwrap_or(&full)
                    .to_string();
                self.error(
                    Origin::new(format!("{source}:{line}:{column}"), ""),
                    format!("invalid JSON: {message}"),
                );
            }
        }
    }

    /// Walks a parsed document of any supported shape.
    pub fn read_value(&mut self, source: &str, value: Value) {
        shapes::walk_document(self, Origin::new(source, ""), value);
    }
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            json_files(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "json") {
            out.push(path);
        }
    }
    Ok(())
}
