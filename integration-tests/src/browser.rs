//! Headless Chromium (Debian's package): a page's DOM after its scripts ran, and screenshots.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Chromium binary; `.ci/test` installs Debian's package when it is missing.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Where tests leave their screenshots (the README shows copies from docs/).
pub fn screenshot_dir() -> PathBuf {
    let dir = crate::ansible::target_dir().join("screenshots");
    std::fs::create_dir_all(&dir).expect("create screenshot dir");
    dir
}

fn chromium(args: &[String]) -> std::process::Output {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run .ci/test, which installs Debian's chromium package"
    );
    let profile = tempfile::tempdir().expect("profile dir");
    let output = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .expect("run chromium");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The page's DOM after its scripts ran for `budget_ms` of (virtual) time.
pub fn rendered_dom(url: &str, budget_ms: u32) -> String {
    let output = chromium(&[
        format!("--virtual-time-budget={budget_ms}"),
        "--dump-dom".into(),
        url.into(),
    ]);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Saves a 1280x900 screenshot of the page as `{screenshot_dir}/{name}.png`.
pub fn screenshot(url: &str, name: &str, budget_ms: u32) -> PathBuf {
    let path = screenshot_dir().join(format!("{name}.png"));
    chromium(&[
        format!("--virtual-time-budget={budget_ms}"),
        "--window-size=1280,900".into(),
        format!("--screenshot={}", path.display()),
        url.into(),
    ]);
    assert!(
        path.exists(),
        "chromium wrote no screenshot at {}",
        path.display()
    );
    path
}

/// Renders the page until its DOM contains every one of `needles` (pages that
/// stream over a websocket may need a second look), failing after `deadline`.
pub fn rendered_dom_with(url: &str, needles: &[&str], deadline: std::time::Duration) -> String {
    let end = std::time::Instant::now() + deadline;
    loop {
        let dom = rendered_dom(url, 3000);
        if needles.iter().all(|n| dom.contains(n)) {
            return dom;
        }
        assert!(
            std::time::Instant::now() < end,
            "{url} never showed {needles:?}; last DOM:\n{dom}"
        );
    }
}
