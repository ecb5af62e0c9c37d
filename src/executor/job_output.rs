//! The build's job-output.txt and its live stream: one timestamped line at a time.

use std::path::{Path, PathBuf};

use portcullis_actors::BuildLog;
use tokio::fs::File;
use tokio::io::AsyncWriteExt;

/// Writes each line of a build's output to `job-output.txt` and to the live log.
///
/// Owns the open file; the web serves the file while it grows, which is why
/// every line is flushed as soon as it is written.
pub struct JobOutput {
    file: Option<File>,
    path: PathBuf,
    live: BuildLog,
}

impl JobOutput {
    /// Creates (or truncates) `{log_dir}/job-output.txt`.
    pub async fn create(log_dir: &Path, live: BuildLog) -> std::io::Result<JobOutput> {
        tokio::fs::create_dir_all(log_dir).await?;
        let path = log_dir.join("job-output.txt");
        let file = File::create(&path).await?;
        Ok(JobOutput {
            file: Some(file),
            path,
            live,
        })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stamps `text` with the current time and writes it to both sinks.
    pub async fn line(&mut self, text: &str) {
        let stamped = stamp(chrono::Local::now().naive_local(), text);
        self.write(stamped).await;
    }

    /// Writes a line of ansible-playbook's output: as it is when it already
    /// carries a time (a line streamed from a node, stamped when the node
    /// printed it), else stamped now.
    pub async fn relay(&mut self, text: &str) {
        if is_stamped(text) {
            self.write(text.to_string()).await;
        } else {
            self.line(text).await;
        }
    }

    async fn write(&mut self, stamped: String) {
        self.live.line(&stamped);
        if let Some(file) = self.file.as_mut() {
            let written = async {
                file.write_all(stamped.as_bytes()).await?;
                file.write_all(b"\n").await?;
                file.flush().await
            };
            if let Err(e) = written.await {
                // A full disk must not fail the build; the live stream still has it.
                tracing::warn!(path = %self.path.display(), error = %e, "job-output.txt write failed");
                self.file = None;
            }
        }
    }
}

/// True when `line` starts like [`stamp`]'s output: `YYYY-MM-DD HH:MM:SS.ffffff | `.
pub fn is_stamped(line: &str) -> bool {
    const SHAPE: &[u8] = b"dddd-dd-dd dd:dd:dd.dddddd | ";
    let bytes = line.as_bytes();
    bytes.len() >= SHAPE.len()
        && SHAPE.iter().zip(bytes).all(|(shape, byte)| match shape {
            b'd' => byte.is_ascii_digit(),
            other => other == byte,
        })
}

/// Zuul's job-output.txt line format: `YYYY-MM-DD HH:MM:SS.ffffff | text`.
pub fn stamp(at: chrono::NaiveDateTime, text: &str) -> String {
    format!("{} | {}", at.format("%Y-%m-%d %H:%M:%S%.6f"), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_prefixed_with_a_microsecond_timestamp_like_zuuls() {
        let at = chrono::NaiveDate::from_ymd_opt(2024, 3, 5)
            .and_then(|d| d.and_hms_micro_opt(7, 8, 9, 42))
            .unwrap();
        assert_eq!(
            stamp(at, "TASK [debug]"),
            "2024-03-05 07:08:09.000042 | TASK [debug]"
        );
    }

    #[test]
    fn a_line_streamed_from_a_node_is_recognised_by_its_stamp() {
        assert!(is_stamped("2024-03-05 07:08:09.000042 | node | hello"));
        assert!(!is_stamped("TASK [shell] ****"));
        assert!(!is_stamped("2024-03-05 07:08:09 | no microseconds"));
        assert!(!is_stamped("2024-03-05 07:08:09.000042"));
    }
}
