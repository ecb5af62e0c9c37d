//! The build's job-output.txt and its live stream: one timestamped line at a time.

use std::path::Path;

use portcullis_actors::BuildLog;
use tokio::fs::File;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Writes each line of a build's output to `job-output.txt` and to the live log.
///
/// One writer task owns the open file and the live log, so that lines from
/// elsewhere (the node providers' [`LineSink`]s, while a playbook runs) land
/// in both at once and in one order. The web serves the file while it grows,
/// which is why every line is flushed as soon as it is written.
pub struct JobOutput {
    lines: LineSink,
    writer: Option<JoinHandle<()>>,
}

/// Another way into a build's output: stamps a line now and queues it.
#[derive(Clone)]
pub struct LineSink(mpsc::UnboundedSender<Written>);

enum Written {
    Line(String),
    Close,
}

impl LineSink {
    /// Stamps `text` with the current time and queues it for both sinks;
    /// lines after the build's output closed are dropped.
    pub fn line(&self, text: &str) {
        let stamped = stamp(chrono::Local::now().naive_local(), text);
        let _ = self.0.send(Written::Line(stamped));
    }

    fn stamped(&self, stamped: String) {
        let _ = self.0.send(Written::Line(stamped));
    }
}

impl JobOutput {
    /// Creates (or truncates) `{log_dir}/job-output.txt`.
    pub async fn create(log_dir: &Path, live: BuildLog) -> std::io::Result<JobOutput> {
        tokio::fs::create_dir_all(log_dir).await?;
        let path = log_dir.join("job-output.txt");
        let file = File::create(&path).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_lines(rx, file, path, live));
        Ok(JobOutput {
            lines: LineSink(tx),
            writer: Some(writer),
        })
    }

    /// A sink for lines from elsewhere, written among this output's own.
    pub fn sink(&self) -> LineSink {
        self.lines.clone()
    }

    /// Stamps `text` with the current time and queues it for both sinks.
    pub fn line(&self, text: &str) {
        self.lines.line(text);
    }

    /// Writes a line of ansible-playbook's output: as it is when it already
    /// carries a time (a line streamed from a node, stamped when the node
    /// printed it), else stamped now.
    pub fn relay(&self, text: &str) {
        if is_stamped(text) {
            self.lines.stamped(text.to_string());
        } else {
            self.lines.line(text);
        }
    }

    /// Waits until every line queued so far is written; later ones are dropped.
    pub async fn close(mut self) {
        let _ = self.lines.0.send(Written::Close);
        if let Some(writer) = self.writer.take() {
            let _ = writer.await;
        }
    }
}

impl Drop for JobOutput {
    fn drop(&mut self) {
        // A dropped build: the writer still writes what was queued, then ends.
        let _ = self.lines.0.send(Written::Close);
    }
}

/// The writer task: each line to the live log and the file, until closed.
async fn write_lines(
    mut lines: mpsc::UnboundedReceiver<Written>,
    file: File,
    path: std::path::PathBuf,
    live: BuildLog,
) {
    let mut file = Some(file);
    while let Some(Written::Line(stamped)) = lines.recv().await {
        live.line(&stamped);
        let Some(open) = file.as_mut() else { continue };
        let written = async {
            open.write_all(stamped.as_bytes()).await?;
            open.write_all(b"\n").await?;
            open.flush().await
        };
        if let Err(e) = written.await {
            // A full disk must not fail the build; the live stream still has it.
            tracing::warn!(path = %path.display(), error = %e, "job-output.txt write failed");
            file = None;
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

    #[tokio::test]
    async fn a_sinks_line_is_written_and_streamed_at_once_among_the_outputs_own() {
        // Given a build's output with a live subscriber, and a sink into it
        let dir = tempfile::tempdir().unwrap();
        let hub = portcullis_actors::LogHub::new();
        hub.open("b1");
        let mut live = hub.subscribe("b1").unwrap().live;
        let output = JobOutput::create(dir.path(), BuildLog::new(hub.clone(), "b1"))
            .await
            .unwrap();
        let sink = output.sink();
        output.line("Job starting");
        // When a node line arrives while the output itself is quiet
        sink.line("pod worker is running");
        // Then subscribers get it at once, after the line before it
        assert!(live.recv().await.unwrap().ends_with("| Job starting"));
        assert!(live
            .recv()
            .await
            .unwrap()
            .ends_with("| pod worker is running"));
        // And the file holds every line in that order once the output closes
        output.relay("2024-03-05 07:08:09.000042 | node | hello");
        output.close().await;
        sink.line("after the end");
        let text = std::fs::read_to_string(dir.path().join("job-output.txt")).unwrap();
        let lines: Vec<&str> = text.lines().map(|l| &l[29..]).collect();
        assert_eq!(
            lines,
            ["Job starting", "pod worker is running", "node | hello"]
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
