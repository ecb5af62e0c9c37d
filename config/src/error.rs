//! One configuration problem, located.

use serde::Serialize;

use crate::job::Source;
use crate::layout::ConfigFile;

/// A configuration problem: where it is (project, branch, file, line) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}{file}:{line}: {message}", location_prefix(.project, .branch))]
pub struct ConfigError {
    /// The project whose repo holds the file, when it came from a repo.
    pub project: Option<String>,
    /// The branch the file was read from, when it came from a repo.
    pub branch: Option<String>,
    /// The file, as the operator knows it (repo path, or path on disk).
    pub file: String,
    /// 1-based line of the problem (or of the object that has it).
    pub line: usize,
    /// What is wrong and what was expected.
    pub message: String,
    /// A few lines of the file around the problem's line, when the text is known.
    pub snippet: Option<String>,
    /// How bad it is: errors leave the object out, warnings only tell.
    pub severity: Severity,
}

/// How bad a configuration problem is, as Zuul's config-errors API says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The object is left out of the layout.
    #[default]
    Error,
    /// The object loads; something deserves a look.
    Warning,
}

/// Lines shown in a snippet before the problem's line, and in all.
const SNIPPET_BEFORE: usize = 2;
const SNIPPET_LINES: usize = 6;

fn location_prefix(project: &Option<String>, branch: &Option<String>) -> String {
    match (project, branch) {
        (Some(p), Some(b)) => format!("{p}@{b}: "),
        (Some(p), None) => format!("{p}: "),
        _ => String::new(),
    }
}

impl ConfigError {
    /// A problem in a file on disk (server or tenant config).
    pub fn in_file(file: impl Into<String>, line: usize, message: impl Into<String>) -> Self {
        ConfigError {
            project: None,
            branch: None,
            file: file.into(),
            line,
            message: message.into(),
            snippet: None,
            severity: Severity::Error,
        }
    }

    /// Turns a serde_yaml error into a located error in `file`.
    pub fn from_yaml(file: impl Into<String>, err: &serde_yaml::Error) -> Self {
        let line = err.location().map(|l| l.line()).unwrap_or(1);
        // serde_yaml appends " at line N column M" to its message; we say the line ourselves.
        let message = err.to_string();
        let message = match message.find(" at line ") {
            Some(i) => message[..i].to_string(),
            None => message,
        };
        ConfigError::in_file(file, line, message)
    }

    /// A problem in a project's config file, at `line`.
    pub fn in_config(file: &ConfigFile, line: usize, message: impl Into<String>) -> Self {
        ConfigError {
            project: Some(file.project.clone()),
            branch: Some(file.branch.clone()),
            file: file.path.clone(),
            line,
            message: message.into(),
            snippet: None,
            severity: Severity::Error,
        }
    }

    /// A problem with a config object, located where the object starts.
    pub fn at(source: &Source, message: impl Into<String>) -> Self {
        ConfigError {
            project: Some(source.project.clone()),
            branch: Some(source.branch.clone()),
            file: source.path.clone(),
            line: source.line,
            message: message.into(),
            snippet: None,
            severity: Severity::Error,
        }
    }

    /// The same problem, `lines` further down its file (for errors found in a slice of it).
    pub fn shifted(mut self, lines: usize) -> Self {
        self.line += lines;
        self
    }
}

impl ConfigError {
    /// Adds the lines of `text` around the problem's line, as Zuul quotes the offending stanza.
    pub fn with_snippet(mut self, text: &str) -> Self {
        self.set_snippet(text);
        self
    }

    /// Sets the snippet from the file's `text`.
    pub fn set_snippet(&mut self, text: &str) {
        let lines: Vec<&str> = text
            .lines()
            .skip(self.line.saturating_sub(1 + SNIPPET_BEFORE))
            .take(SNIPPET_LINES)
            .collect();
        if !lines.is_empty() {
            self.snippet = Some(lines.join("\n"));
        }
    }

    /// The problem in full, as `config check` prints it: location, message, snippet.
    pub fn report(&self) -> String {
        let mut out = self.to_string();
        if let Some(snippet) = &self.snippet {
            out.push_str("\n\n");
            for line in snippet.lines() {
                out.push_str("    ");
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_quotes_the_lines_around_the_problem() {
        let text = "- job:\n    name: a\n- job:\n    name: b\n    bogus: 1\n";
        let err =
            ConfigError::in_file("zuul.yaml", 5, "job: unknown field `bogus`").with_snippet(text);
        assert_eq!(
            err.snippet.as_deref(),
            Some("- job:\n    name: b\n    bogus: 1")
        );
        let report = err.report();
        assert!(
            report.starts_with("zuul.yaml:5: job: unknown field `bogus`\n\n    - job:"),
            "{report}"
        );
    }

    #[test]
    fn a_line_past_the_end_has_no_snippet() {
        let err = ConfigError::in_file("f", 40, "x").with_snippet("a\n");
        assert_eq!((err.snippet, err.severity), (None, Severity::Error));
    }
}
