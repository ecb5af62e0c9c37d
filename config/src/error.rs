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
}

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
        }
    }

    /// The same problem, `lines` further down its file (for errors found in a slice of it).
    pub fn shifted(mut self, lines: usize) -> Self {
        self.line += lines;
        self
    }
}
