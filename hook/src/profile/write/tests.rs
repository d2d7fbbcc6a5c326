use std::os::unix::fs::{symlink, PermissionsExt};

use super::*;

fn none() -> AllowedDirs {
    AllowedDirs::default()
}

fn temps_in(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count()
}

fn refusal(path: &Path, allowed: &AllowedDirs) -> String {
    match Output::open(path, allowed) {
        Err(e @ OutputError::Refused { .. }) => e.to_string(),
        other => panic!("expected a refusal for {}, got {other:?}", path.display()),
    }
}

#[test]
fn writes_content_with_mode_0644_and_leaves_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    write_atomically(&path, b"{}\n").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"{}\n");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn replaces_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    std::fs::write(&path, b"old").unwrap();
    write_atomically(&path, b"new").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"new");
}

#[test]
fn missing_directory_is_reported_with_the_path() {
    let err = write_atomically(Path::new("/nonexistent-dir/p.json"), b"x").unwrap_err();
    assert!(err.to_string().contains("/nonexistent-dir"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), b"").unwrap();
    let err = Output::open(&dir.path().join("file/p.json"), &none()).unwrap_err();
    assert!(matches!(err, OutputError::MissingDir(_)), "{err}");
}

#[test]
fn symlink_as_final_component_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let link = dir.path().join("p.json");
    symlink(&victim, &link).unwrap();
    assert!(refusal(&link, &none()).contains("symbolic link"));
    // Also when the symlink appears between the check and the write.
    let path = dir.path().join("q.json");
    let output = Output::open(&path, &none()).unwrap();
    symlink(&victim, &path).unwrap();
    assert!(output.write(b"{}").is_err());
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
}

#[test]
fn non_regular_targets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    assert!(refusal(&sub, &none()).contains("not a regular file"));
    let fifo = dir.path().join("fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        FileType::Fifo,
        Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    assert!(refusal(&fifo, &none()).contains("not a regular file"));
    assert!(refusal(Path::new("/tmp/"), &none()).contains("does not name a file"));
}

#[test]
fn kernel_filesystems_are_refused_by_path_and_by_kind() {
    for path in [
        "/proc/self/p.json",
        "/sys/p.json",
        "/dev/p.json",
        "/dev/shm/p.json",
    ] {
        assert!(
            refusal(Path::new(path), &none()).contains("kernel filesystem"),
            "{path}"
        );
    }
    // A symlinked directory that leads into /proc is caught by the filesystem's kind.
    let dir = tempfile::tempdir().unwrap();
    let sneaky = dir.path().join("sneaky");
    symlink("/proc/self", &sneaky).unwrap();
    assert!(refusal(&sneaky.join("p.json"), &none()).contains("proc filesystem"));
}

#[test]
fn parent_references_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/../p.json");
    assert!(refusal(&path, &none()).contains(".."));
}

#[test]
fn allowed_directories_bound_where_profiles_go() {
    let root = tempfile::tempdir().unwrap();
    let allowed = root.path().join("allowed");
    let outside = root.path().join("outside");
    std::fs::create_dir_all(allowed.join("nested")).unwrap();
    std::fs::create_dir(&outside).unwrap();
    let allowed_list =
        AllowedDirs::resolve("--allowed-output-dir", std::slice::from_ref(&allowed)).unwrap();
    Output::open(&allowed.join("p.json"), &allowed_list).unwrap();
    Output::open(&allowed.join("nested/p.json"), &allowed_list).unwrap();
    assert!(refusal(&outside.join("p.json"), &allowed_list).contains("outside the allowed"));
    // A symlink inside the allowed tree that leads out of it does not help.
    symlink(&outside, allowed.join("door")).unwrap();
    assert!(refusal(&allowed.join("door/p.json"), &allowed_list).contains("outside the allowed"));
}

/// The write goes to the directory that was checked, even when a symlink in the path is
/// flipped to another directory the whole time. Without the held directory descriptor (a
/// path-based write after the check) some writes land in `victim`.
#[test]
fn flipping_a_symlinked_directory_never_redirects_the_write() {
    let root = tempfile::tempdir().unwrap();
    let (real, victim) = (root.path().join("real"), root.path().join("victim"));
    std::fs::create_dir(&real).unwrap();
    std::fs::create_dir(&victim).unwrap();
    let link = root.path().join("link");
    symlink(&real, &link).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flipper = {
        let (stop, link, real, victim) = (stop.clone(), link.clone(), real.clone(), victim.clone());
        let tmp = root.path().join("link.new");
        std::thread::spawn(move || {
            let mut toward_victim = true;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let target = if toward_victim { &victim } else { &real };
                let _ = std::fs::remove_file(&tmp);
                symlink(target, &tmp).unwrap();
                std::fs::rename(&tmp, &link).unwrap();
                toward_victim = !toward_victim;
                // Gives the checker a turn on a machine with fewer cores than threads.
                std::thread::yield_now();
            }
        })
    };
    let path = link.join("p.json");
    let allowed =
        AllowedDirs::resolve("--allowed-output-dir", std::slice::from_ref(&real)).unwrap();
    // Until 150 checks got through (a loaded machine refuses most tries: the link moved
    // between the check's steps), or 20 s.
    let mut checked_real = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while checked_real < 150 && std::time::Instant::now() < deadline {
        let Ok(output) = Output::open(&path, &allowed) else {
            continue; // resolved to victim at check time: refused, as it should be
        };
        checked_real += 1;
        output.write(b"{}").unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flipper.join().unwrap();
    assert!(checked_real > 0, "the race never let a check through");
    assert!(real.join("p.json").exists());
    assert_eq!(
        std::fs::read_dir(&victim).unwrap().count(),
        0,
        "a write escaped"
    );
}

/// Disk full at write time: an error, the previous file intact, no temp file left behind.
#[test]
fn disk_full_keeps_the_previous_file_and_leaves_no_temp() {
    if !e2e::privileged_with(&["mount"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "osbh-test"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "mount tmpfs");
    let path = dir.path().join("p.json");
    std::fs::write(&path, b"previous").unwrap();
    let result = Output::open(&path, &none())
        .unwrap()
        .write(&vec![b'x'; 1 << 20]);
    let (content, temps) = (std::fs::read(&path).unwrap(), temps_in(dir.path()));
    std::process::Command::new("umount")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(
        matches!(&result, Err(OutputError::Io { source, .. }) if source.raw_os_error() == Some(libc::ENOSPC)),
        "{result:?}"
    );
    assert_eq!(content, b"previous");
    assert_eq!(temps, 0);
}

/// A writer killed mid-write leaves its temp file; the next write removes it (its PID is
/// gone) but not one of a writer still running.
#[test]
fn temp_files_of_dead_writers_are_removed_by_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    // PIDs never exceed 2^22, so this writer cannot be alive.
    let dead = dir.path().join(".oci-seccomp-999999999-1-0.tmp");
    let alive = dir
        .path()
        .join(format!(".oci-seccomp-{}-1-0.tmp", std::process::id()));
    std::fs::write(&dead, b"partial").unwrap();
    std::fs::write(&alive, b"in progress").unwrap();
    write_atomically(&dir.path().join("p.json"), b"{}").unwrap();
    assert!(!dead.exists());
    assert!(alive.exists());
    assert_eq!(temps_in(dir.path()), 1);
}

/// A user's profile that the hook rewrites stays theirs: owner, group and mode are kept.
/// Set-id bits are not carried over; a new file is the writer's with mode 0644.
#[test]
fn a_rewrite_keeps_owner_group_and_mode() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    std::fs::write(&path, b"old").unwrap();
    std::os::unix::fs::chown(&path, Some(1000), Some(1001)).unwrap_or_else(|e| {
        panic!("chown needs root (the hook runs as root): {e}");
    });
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o4640)).unwrap();
    write_atomically(&path, b"new").unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (1000, 1001, 0o640)
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"new");

    let fresh = dir.path().join("fresh.json");
    write_atomically(&fresh, b"{}").unwrap();
    let meta = std::fs::metadata(&fresh).unwrap();
    let me = (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    );
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (me.0, me.1, 0o644)
    );
}
