//! Import progress: a bar on a terminal, one plain line per app otherwise (CI logs, pipes).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::cluster::{AppResult, Outcome};

pub enum Progress {
    Bar(ProgressBar),
    Lines,
}

impl Progress {
    /// A bar when standard error is a terminal.
    pub fn new(total: usize) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self::Lines;
        }
        let bar = ProgressBar::new(total as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} apps ({elapsed}) {msg}")
        {
            bar.set_style(style);
        }
        Self::Bar(bar)
    }

    pub fn record(&self, result: &AppResult) {
        let line = describe(result);
        match self {
            // Failures stay visible above the bar; the rest only move it.
            Self::Bar(bar) => {
                if matches!(result.outcome, Outcome::Failed(_)) {
                    bar.println(line);
                }
                bar.set_message(result.id.clone());
                bar.inc(1);
            }
            Self::Lines => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Self::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

fn describe(result: &AppResult) -> String {
    let AppResult { id, name, outcome } = result;
    match outcome {
        Outcome::Created => format!("created   {id} ({name})"),
        Outcome::Updated => format!("updated   {id} ({name})"),
        Outcome::Unchanged => format!("unchanged {id} ({name})"),
        Outcome::Failed(reason) => format!("failed    {id} ({name}): {reason}"),
    }
}
