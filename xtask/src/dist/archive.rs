//! The static tarball of a staged tree, and the man pages in it gzipped (Debian's policy,
//! `gzip -9n`: no name or time inside, so the same page gives the same bytes).

use std::{
    fs::File,
    io::Write,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use flate2::{Compression, GzBuilder};

/// Writes `root`'s files and links (not its directories: unpacked with `-C /`, the archive
/// must not reset the modes and times of `/usr` and its like) to `out`, a `.tar.gz`, with
/// the paths below `root`, owned by root, at a fixed time.
pub fn tarball(root: &Path, out: &Path) -> Result<()> {
    let file = File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut tar = tar::Builder::new(GzBuilder::new().write(file, Compression::best()));
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    for relative in files(root)? {
        tar.append_path_with_name(root.join(&relative), &relative)
            .with_context(|| format!("cannot add {} to {}", relative.display(), out.display()))?;
    }
    tar.into_inner()?
        .finish()
        .with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!("archived {}", out.display());
    Ok(())
}

/// Replaces each page under `root/usr/share/man` by its gzipped self.
pub fn gzip_man_pages(root: &Path) -> Result<()> {
    let man = root.join("usr/share/man");
    for relative in files(&man)? {
        let page = man.join(&relative);
        if page.extension().is_some_and(|e| e == "gz") {
            continue;
        }
        let bytes =
            std::fs::read(&page).with_context(|| format!("cannot read {}", page.display()))?;
        let mut gz = page.clone().into_os_string();
        gz.push(".gz");
        let file = File::create(&gz).with_context(|| format!("cannot create {gz:?}"))?;
        let mut encoder = GzBuilder::new().mtime(0).write(file, Compression::best());
        encoder.write_all(&bytes)?;
        encoder
            .finish()
            .with_context(|| format!("cannot write {gz:?}"))?;
        // The package takes modes from the tree: not the umask's.
        std::fs::set_permissions(&gz, std::fs::Permissions::from_mode(0o644))?;
        std::fs::remove_file(&page).with_context(|| format!("cannot remove {}", page.display()))?;
    }
    Ok(())
}

/// The files and symbolic links below `root`, as paths relative to it, sorted (so archives
/// of the same tree are the same).
fn files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut dirs = vec![PathBuf::new()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(root.join(&dir))
            .with_context(|| format!("cannot list {}", root.join(&dir).display()))?;
        for entry in entries {
            let entry = entry?;
            let relative = dir.join(entry.file_name());
            match entry.file_type()?.is_dir() {
                true => dirs.push(relative),
                false => found.push(relative),
            }
        }
    }
    found.sort();
    Ok(found)
}
