//! `nri`: the NRI plugin, until stopped (SIGTERM, SIGINT). It holds the node's plugin lock
//! (one plugin per node; `status` shows it), then serves the runtime, connecting again
//! whenever the runtime goes away.

use anyhow::{Context, Result};
use hook::{
    cli::{Cli, NriArgs},
    node::plugin,
    nri::{self, adjust::Injector},
    profile::DEFAULT_ERRNO,
};

/// The hook's argv as the hooks.d JSON has it, with the hook options `cli` was given.
pub fn hook_args(cli: &Cli) -> Vec<String> {
    // The timeout always: the plugin's own (default or given) is the hook's.
    let timeout = cli.timeout.as_secs_f64().to_string();
    let mut args = vec![
        "oci-seccomp-bpf-hook".into(),
        "-s".into(),
        "--timeout".into(),
        timeout,
    ];
    if cli.errno != DEFAULT_ERRNO {
        args.extend(["--errno".into(), cli.errno.to_string()]);
    }
    if cli.names_only {
        args.push("--names-only".into());
    }
    for (flag, dirs) in [
        ("--allowed-output-dir", &cli.allowed_output_dir),
        ("--allowed-input-dir", &cli.allowed_input_dir),
    ] {
        for dir in dirs {
            args.extend([flag.to_owned(), dir.display().to_string()]);
        }
    }
    args
}

pub fn run(args: &NriArgs, hook_args: Vec<String>) -> Result<i32> {
    let path = match &args.hook_path {
        Some(path) => path.clone(),
        None => {
            std::env::current_exe().context("cannot find this binary to name it as the hook")?
        }
    };
    let options = nri::Options {
        socket: args.socket.clone(),
        name: args.plugin_name.clone(),
        index: args.plugin_index.clone(),
        injector: Injector {
            path,
            args: hook_args,
        },
    };
    let mut presence = plugin::hold().context("cannot take the node's NRI plugin lock")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the plugin's event loop")?;
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("cannot watch for SIGTERM")?;
        tokio::select! {
            _ = nri::run(&options, &mut presence) => {}
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        log::info!("stopped: containers start untraced until the plugin runs again");
        Ok(0)
    })
}
