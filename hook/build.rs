//! Hands the crate the eBPF object that `cargo xtask build-ebpf` produced (embedded with
//! `include_bytes_aligned!`), and refuses one older than the eBPF sources: tests must never
//! run an object that no longer matches the code beside them.

use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "../xtask/src/paths.rs"]
mod paths;

fn main() {
    println!("cargo:rerun-if-env-changed=OSBH_EBPF_OBJECT");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let workspace = manifest.join("..");
    let (object, built_here) = match std::env::var_os("OSBH_EBPF_OBJECT") {
        Some(path) => (PathBuf::from(path), false),
        None => (paths::ebpf_object(&paths::target_dir(&workspace)), true),
    };
    println!("cargo:rerun-if-changed={}", object.display());
    if !object.is_file() {
        fail(&format!(
            "the eBPF object {} does not exist",
            object.display()
        ));
    }
    if built_here {
        let sources = paths::ebpf_sources(&workspace);
        for source in &sources {
            println!("cargo:rerun-if-changed={}", source.display());
        }
        let built = [
            object.clone(),
            paths::ebpf_stamp(&paths::target_dir(&workspace)),
        ];
        if let Some(newer) = newer_than(&built, &sources) {
            fail(&format!(
                "the eBPF object {} is older than {}",
                object.display(),
                newer.display()
            ));
        }
    }
    println!("cargo:rustc-env=OSBH_EBPF_OBJECT={}", object.display());
}

/// The first of `sources` modified after the object was last built: the later of `built`'s
/// times (the object, and the stamp every build touches).
fn newer_than<'a>(built: &[PathBuf], sources: &'a [PathBuf]) -> Option<&'a PathBuf> {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let built = built.iter().filter_map(|p| modified(p)).max()?;
    sources
        .iter()
        .find(|s| modified(s).is_some_and(|changed| changed > built))
}

fn fail(problem: &str) -> ! {
    eprintln!(
        "error: {problem}.\n\
         Build it with `cargo xtask build-ebpf --release` (or `cargo xtask build` for \
         everything); `cargo xtask setup` installs what that needs."
    );
    std::process::exit(1);
}
