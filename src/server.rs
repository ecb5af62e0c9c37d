//! Start-up (being wired; the full version waits for the modules it uses).

use std::path::Path;

/// Runs the server until it is told to stop.
pub async fn serve(config_path: &Path) -> anyhow::Result<()> {
    anyhow::bail!("not wired yet: {}", config_path.display())
}
