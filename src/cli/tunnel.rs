//! `portcullis tunnel`: one tunnel in the foreground, for operators debugging
//! live log streaming. It prints the local port as its first line of stdout,
//! keeps the forward alive, and on SIGINT, SIGTERM or SIGQUIT stops it and exits 0.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use portcullis_actors::tunnel::{
    CloseTunnel, GetTunnelState, Tunnel, TunnelLog, TunnelSettings, TunnelSpec, CONSOLE_PORT,
};

use crate::stop_signals::StopSignals;

/// Where the tunnel forwards to, and with which kubectl.
#[derive(clap::Args)]
pub struct TunnelArgs {
    /// The kubeconfig file.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// The kubeconfig context.
    #[arg(long)]
    context: String,
    /// The pod's namespace.
    #[arg(long)]
    namespace: String,
    /// The pod's name.
    #[arg(long)]
    pod: String,
    /// The pod port to forward to.
    #[arg(long, default_value_t = CONSOLE_PORT)]
    remote_port: u16,
    /// The kubectl binary (default: the image's pinned kubectl 1.32).
    #[arg(long)]
    kubectl: Option<PathBuf>,
}

/// Runs one tunnel until SIGINT, SIGTERM or SIGQUIT.
pub async fn run(args: TunnelArgs) -> anyhow::Result<()> {
    // Installed first, so a signal during start still ends in a clean stop.
    let mut stop = StopSignals::install()?;
    let mut spec = TunnelSpec::new(args.kubeconfig, args.context, args.namespace, args.pod);
    spec.remote_port = args.remote_port;
    let mut settings = TunnelSettings {
        instance: format!("cli-{}", std::process::id()),
        ..TunnelSettings::default()
    };
    if let Some(kubectl) = args.kubectl {
        settings.kubectl = kubectl;
    }
    let log: TunnelLog = Arc::new(|line: &str| eprintln!("{line}"));
    let tunnel = Tunnel::start(spec, settings, log, None).await?;
    let port = tunnel.send(GetTunnelState).await?.port;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{port}").and_then(|()| stdout.flush())?;
    stop.recv().await;
    tunnel.send(CloseTunnel).await?;
    Ok(())
}
