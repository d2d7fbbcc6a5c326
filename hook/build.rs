//! Finds the eBPF object that `cargo xtask build-ebpf` produced and hands its path to the
//! crate, which embeds it with `include_bytes_aligned!`.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=OSBH_EBPF_OBJECT");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    let object = match std::env::var_os("OSBH_EBPF_OBJECT") {
        Some(path) => PathBuf::from(path),
        None => default_object_path(),
    };
    println!("cargo:rerun-if-changed={}", object.display());
    if !object.is_file() {
        eprintln!(
            "error: the eBPF object {} does not exist.\n\
             Build it first with `cargo xtask build-ebpf` (or `cargo xtask build` for \
             everything); `cargo xtask setup` installs what that needs.",
            object.display()
        );
        std::process::exit(1);
    }
    println!("cargo:rustc-env=OSBH_EBPF_OBJECT={}", object.display());
}

/// `<target dir>/ebpf/hook-ebpf.o`, the place `cargo xtask build-ebpf` copies its output to.
fn default_object_path() -> PathBuf {
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let manifest =
                PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
            manifest.join("..").join("target")
        }
    };
    target_dir.join("ebpf").join("hook-ebpf.o")
}
