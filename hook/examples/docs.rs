//! Writes what is generated from the CLI definition into DIR: the oci-seccomp-bpf-hook(1) man
//! page and the bash, zsh and fish completions, all from the one `clap` command so they cannot
//! disagree. `cargo run -p hook --example docs -- DIR` (used by `cargo xtask install`, which
//! knows where each file goes).

use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::Shell;

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or_else(|| std::io::Error::other("usage: docs DIR"))?;
    std::fs::create_dir_all(&dir)?;
    let mut cmd = hook::cli::Cli::command();
    let name = cmd.get_name().to_owned();
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    std::fs::write(dir.join(format!("{name}.1")), page)?;
    // Files named as each shell's loader looks them up: NAME.bash, _NAME, NAME.fish.
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd, &name, &dir)?;
    }
    Ok(())
}
