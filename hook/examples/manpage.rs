//! Writes the oci-seccomp-bpf-hook(1) man page, generated from the CLI definition:
//! `cargo run -p hook --example manpage -- OUT.1` (used by `cargo xtask install`).

use clap::CommandFactory;

fn main() -> std::io::Result<()> {
    let out = std::env::args_os()
        .nth(1)
        .ok_or_else(|| std::io::Error::other("usage: manpage OUT.1"))?;
    let mut page = Vec::new();
    clap_mangen::Man::new(hook::cli::Cli::command()).render(&mut page)?;
    std::fs::write(out, page)
}
