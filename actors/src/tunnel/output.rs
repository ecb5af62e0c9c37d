//! Reading the loop's output: its own run lines, kubectl's `Forwarding` and
//! `Handling connection` lines, and the error wording that says why a run ended.

use super::message::ExitClass;
use super::script::LOOP_MARK;

/// One line of the loop's output, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoopLine<'a> {
    /// The loop started kubectl run `run` as process `pid`.
    RunStarted {
        /// The run's number, from 1.
        run: u32,
        /// kubectl's pid.
        pid: u32,
    },
    /// Run `run` ended with shell status `status` (128+N: killed by signal N).
    RunEnded {
        /// The run's number.
        run: u32,
        /// The shell's `$?` for it.
        status: i32,
        /// How long it lived.
        lived_ms: u64,
        /// The pause before the next run.
        next_ms: u64,
    },
    /// kubectl listens on `host:port` and forwards to the pod's `remote` port.
    Forwarding {
        /// The local address.
        host: &'a str,
        /// The local port.
        port: u16,
        /// The pod port.
        remote: u16,
    },
    /// kubectl accepted a connection.
    Handling,
    /// Anything else kubectl said.
    Said(&'a str),
}

/// Understands one line.
pub fn parse(line: &str) -> LoopLine<'_> {
    if let Some(rest) = line.strip_prefix(LOOP_MARK) {
        if let Some(parsed) = parse_loop_line(rest) {
            return parsed;
        }
    }
    if let Some(parsed) = parse_forwarding(line) {
        return parsed;
    }
    if line.starts_with("Handling connection for ") {
        return LoopLine::Handling;
    }
    LoopLine::Said(line)
}

fn parse_loop_line(rest: &str) -> Option<LoopLine<'static>> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    match words.as_slice() {
        [run, "start", pid] => Some(LoopLine::RunStarted {
            run: run.parse().ok()?,
            pid: pid.parse().ok()?,
        }),
        [run, "exit", status, "lived_ms", lived, "next_ms", next] => Some(LoopLine::RunEnded {
            run: run.parse().ok()?,
            status: status.parse().ok()?,
            lived_ms: lived.parse().ok()?,
            next_ms: next.parse().ok()?,
        }),
        _ => None,
    }
}

/// `Forwarding from 127.0.0.1:35541 -> 19885` and `Forwarding from [::1]:35541 -> 19885`.
fn parse_forwarding(line: &str) -> Option<LoopLine<'_>> {
    let rest = line.strip_prefix("Forwarding from ")?;
    let (local, remote) = rest.split_once(" -> ")?;
    let (host, port) = local.rsplit_once(':')?;
    Some(LoopLine::Forwarding {
        host,
        port: port.parse().ok()?,
        remote: remote.trim().parse().ok()?,
    })
}

/// What is known about the run in progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Run {
    /// Its number (0 before the first).
    pub number: u32,
    /// kubectl's pid, while it runs.
    pub pid: Option<u32>,
    /// Whether it printed a Forwarding line for the reserved port.
    pub forwarded: bool,
    /// The most telling reason its output gave so far.
    hint: Option<ExitClass>,
}

impl Run {
    /// A run that has just started.
    pub fn started(number: u32, pid: u32) -> Run {
        Run {
            number,
            pid: Some(pid),
            ..Run::default()
        }
    }

    /// Notes what a line of kubectl's says about why it may end.
    pub fn observe(&mut self, text: &str) {
        if let Some(class) = hint_of(text) {
            if self.hint.is_none_or(|seen| rank(class) > rank(seen)) {
                self.hint = Some(class);
            }
        }
    }

    /// Why it ended, given the shell's status for it.
    pub fn classify(&self, status: i32) -> ExitClass {
        match (self.hint, status) {
            (Some(class), _) => class,
            (None, 0) => ExitClass::CleanExit,
            (None, 129..=192) => ExitClass::Killed,
            (None, _) => ExitClass::Other,
        }
    }
}

/// The reason a line points to, by kubectl's wording (see docs/tunnels.md §1).
fn hint_of(text: &str) -> Option<ExitClass> {
    let text = text.to_ascii_lowercase();
    let has = |needle: &str| text.contains(needle);
    if has("address already in use") || has("unable to listen on") {
        Some(ExitClass::PortTaken)
    } else if has("an error occurred forwarding") {
        Some(ExitClass::PodRefused)
    } else if has("notfound") || has("not found") || has("pod is not running") {
        Some(ExitClass::PodGone)
    } else if has("lost connection to pod") {
        Some(ExitClass::ConnectionLost)
    } else if has("was refused")
        || has("unable to connect to the server")
        || has("i/o timeout")
        || has("no such host")
        || has("connection refused")
    {
        Some(ExitClass::ApiDown)
    } else {
        None
    }
}

/// Which reason wins when a run's lines point to several: `lost connection`
/// follows every forwarding error, so the specific cause must outrank it.
fn rank(class: ExitClass) -> u8 {
    match class {
        ExitClass::PortTaken => 5,
        ExitClass::PodRefused => 4,
        ExitClass::PodGone => 3,
        ExitClass::ApiDown => 2,
        ExitClass::ConnectionLost => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class_of(lines: &[&str], status: i32) -> ExitClass {
        let mut run = Run::started(1, 42);
        lines.iter().for_each(|line| run.observe(line));
        run.classify(status)
    }

    #[test]
    fn loop_lines_and_kubectl_lines_are_told_apart() {
        assert_eq!(
            parse("@@portcullis-run 3 start 4242"),
            LoopLine::RunStarted { run: 3, pid: 4242 }
        );
        assert_eq!(
            parse("@@portcullis-run 3 exit 137 lived_ms 12 next_ms 100"),
            LoopLine::RunEnded {
                run: 3,
                status: 137,
                lived_ms: 12,
                next_ms: 100
            }
        );
        assert_eq!(
            parse("Forwarding from [::1]:35541 -> 19885"),
            LoopLine::Forwarding {
                host: "[::1]",
                port: 35541,
                remote: 19885
            }
        );
        assert_eq!(parse("Handling connection for 35541"), LoopLine::Handling);
        assert_eq!(
            parse("@@portcullis-run nonsense"),
            LoopLine::Said("@@portcullis-run nonsense")
        );
    }

    #[test]
    fn a_refused_pod_port_outranks_the_lost_connection_that_follows_it() {
        let lines = [
            r#"E1128 portforward.go:413] "an error occurred forwarding 35541 -> 19885: error forwarding port 19885 to pod abc, uid : failed to connect to localhost:19885 inside namespace: connection refused""#,
            "error: lost connection to pod",
        ];
        assert_eq!(class_of(&lines, 1), ExitClass::PodRefused);
    }

    #[test]
    fn kubectl_error_wordings_map_to_their_classes() {
        let cases = [
            (r#"Error from server (NotFound): pods "p" not found"#, ExitClass::PodGone),
            ("error: unable to forward port because pod is not running. Current status=Pending", ExitClass::PodGone),
            ("The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?", ExitClass::ApiDown),
            ("Unable to listen on port 35541: Listeners failed to create with the following errors: [unable to create listener: Error listen tcp4 127.0.0.1:35541: bind: address already in use]", ExitClass::PortTaken),
            ("error: lost connection to pod", ExitClass::ConnectionLost),
        ];
        for (line, class) in cases {
            assert_eq!(class_of(&[line], 1), class, "{line}");
        }
    }

    #[test]
    fn a_silent_run_is_judged_by_its_status() {
        assert_eq!(class_of(&[], 0), ExitClass::CleanExit);
        assert_eq!(class_of(&[], 137), ExitClass::Killed);
        assert_eq!(class_of(&[], 1), ExitClass::Other);
    }
}
