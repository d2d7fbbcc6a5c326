use super::*;

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn poststop_gets_the_outcome_once_the_tracer_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let claim = Claim::new(dir.path(), "abc123", dir.path()).unwrap();
    let finisher = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        claim.finish(&Outcome::Written("wrote /x.json".into()));
    });
    let outcome = collect(dir.path(), "abc123", WAIT).unwrap();
    finisher.join().unwrap();
    assert_eq!(outcome, Outcome::Written("wrote /x.json".into()));
    assert!(!dir.path().join("abc123").exists(), "read, then removed");
}

/// The usual order: the tracer writes within a millisecond of the exit, poststop comes later.
/// A failure must still reach it.
#[test]
fn a_failure_waits_for_poststop_when_the_tracer_finished_first() {
    let dir = tempfile::tempdir().unwrap();
    let claim = Claim::new(dir.path(), "early", dir.path()).unwrap();
    claim.finish(&Outcome::Failed("cannot write /ro/p.json".into()));
    assert!(dir.path().join("early").exists(), "kept until read");
    let outcome = collect(dir.path(), "early", WAIT).unwrap();
    assert_eq!(outcome, Outcome::Failed("cannot write /ro/p.json".into()));
    assert!(!dir.path().join("early").exists());
    // Read once: a second poststop finds no tracer.
    assert!(matches!(
        collect(dir.path(), "early", WAIT),
        Err(OutcomeError::NoTracer(_))
    ));
}

#[test]
fn no_claim_means_no_tracer_ran() {
    let dir = tempfile::tempdir().unwrap();
    let err = collect(dir.path(), "none", WAIT).unwrap_err();
    assert!(err.to_string().contains("no profile was written"), "{err}");
}

#[test]
fn a_tracer_that_never_finishes_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let _claim = Claim::new(dir.path(), "slow", dir.path()).unwrap();
    let err = collect(dir.path(), "slow", Duration::from_millis(100)).unwrap_err();
    assert!(err.to_string().contains("did not finish"), "{err}");
}

#[test]
fn a_dropped_claim_reports_failure() {
    let dir = tempfile::tempdir().unwrap();
    drop(Claim::new(dir.path(), "dead", dir.path()).unwrap());
    let outcome = collect(dir.path(), "dead", WAIT).unwrap();
    assert!(
        matches!(&outcome, Outcome::Failed(r) if r.contains("stopped")),
        "{outcome:?}"
    );
}

/// A tracer killed with SIGKILL leaves an empty, unlocked file: poststop returns at once with
/// an error and removes it.
#[test]
fn a_killed_tracer_is_reported_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed");
    std::fs::write(&path, b"").unwrap();
    // -o: the lock stays with flock itself, not with the sleep it runs.
    let mut holder = std::process::Command::new("flock")
        .args(["-o", "-x"])
        .arg(&path)
        .args(["sleep", "2"])
        .spawn()
        .expect("flock(1) from util-linux");
    std::thread::sleep(Duration::from_millis(200));
    holder.kill().unwrap();
    holder.wait().unwrap();
    let started = std::time::Instant::now();
    let outcome = collect(dir.path(), "killed", WAIT).unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(&outcome, Outcome::Failed(r) if r.contains("tracer died")),
        "{outcome:?}"
    );
    assert!(!path.exists());
}

#[test]
fn every_id_runc_accepts_gets_a_file_in_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let long = "a".repeat(250);
    for id in ["0123abcdef_x-y.z", "with+plus", ".hidden", long.as_str()] {
        let claim = Claim::new(dir.path(), id, dir.path()).unwrap();
        claim.finish(&Outcome::Written(id.to_owned()));
        assert_eq!(
            collect(dir.path(), id, WAIT).unwrap(),
            Outcome::Written(id.to_owned())
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn ids_that_could_escape_the_directory_stay_inside_it() {
    let dir = tempfile::tempdir().unwrap();
    let long = "b".repeat(129);
    for id in ["", ".", "..", "../etc/passwd", "a/b", "a b", long.as_str()] {
        let path = outcome_path(dir.path(), id);
        assert_eq!(path.parent(), Some(dir.path()), "{id:?}");
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with('~') && name.len() == 65,
            "{id:?} -> {name}"
        );
    }
    assert_ne!(
        outcome_path(dir.path(), "a/b"),
        outcome_path(dir.path(), "a b")
    );
}

#[test]
fn two_tracers_cannot_claim_one_container() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Claim::new(dir.path(), "same", dir.path()).unwrap();
    assert!(matches!(
        Claim::new(dir.path(), "same", dir.path()),
        Err(OutcomeError::Busy(_))
    ));
}

#[test]
fn outcomes_round_trip_and_garbage_is_a_failure() {
    for outcome in [
        Outcome::Written("wrote /p.json (3 syscalls)".into()),
        Outcome::Failed("cannot write".into()),
        Outcome::Failed(String::new()),
    ] {
        assert_eq!(Outcome::decode(&outcome.encode()), outcome);
    }
    assert!(matches!(Outcome::decode("ok"), Outcome::Failed(_)));
}

/// Outcomes no poststop read for long are swept; fresh ones, claimed ones and the node's own
/// entries stay.
#[test]
fn outcomes_left_unread_are_swept_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    Claim::new(dir.path(), "unread", dir.path())
        .unwrap()
        .finish(&Outcome::Written("w".into()));
    Claim::new(dir.path(), "fresh", dir.path())
        .unwrap()
        .finish(&Outcome::Written("w".into()));
    let claimed = Claim::new(dir.path(), "claimed", dir.path()).unwrap();
    std::fs::create_dir(dir.path().join("@shared")).unwrap();
    std::fs::write(dir.path().join("@kernel-offsets"), "k").unwrap();
    for name in ["unread", "claimed", "@kernel-offsets"] {
        let file = std::fs::File::options()
            .write(true)
            .open(dir.path().join(name))
            .unwrap();
        file.set_modified(old).unwrap();
    }
    sweep(dir.path(), Duration::from_secs(60));
    let left: std::collections::BTreeSet<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected = ["@kernel-offsets", "@shared", "claimed", "fresh"];
    assert_eq!(left, expected.iter().map(|s| s.to_string()).collect());
    drop(claimed);
}

/// A tracer killed after its claim leaves only the bundle line: still told as a death.
#[test]
fn a_claim_left_with_its_bundle_alone_reads_as_a_death() {
    let dir = tempfile::tempdir().unwrap();
    let claim = Claim::new(dir.path(), "named", Path::new("/run/b")).unwrap();
    let text = std::fs::read_to_string(dir.path().join("named")).unwrap();
    assert_eq!(text, "bundle /run/b\n");
    std::mem::forget(claim);
    let (bundle, rest) = without_bundle(&text);
    assert_eq!(
        (bundle, Outcome::decode(rest)),
        (Some(Path::new("/run/b")), Outcome::Failed(DIED.into()))
    );
}

/// The container's bundle is gone: no poststop is coming. The waiting tracer removes its
/// outcome, and so does any sweep; an outcome whose bundle is there stays.
#[test]
fn an_outcome_whose_bundle_is_gone_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = tempfile::tempdir().unwrap();
    let finished = Claim::new(dir.path(), "waits", bundle.path())
        .unwrap()
        .finish(&Outcome::Written("w".into()));
    Claim::new(dir.path(), "swept", bundle.path())
        .unwrap()
        .finish(&Outcome::Written("w".into()));
    Claim::new(dir.path(), "kept", dir.path())
        .unwrap()
        .finish(&Outcome::Written("w".into()));
    let remover = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(bundle);
    });
    let started = std::time::Instant::now();
    finished.wait_for_reader(WAIT);
    assert!(started.elapsed() < WAIT, "waited out the limit");
    remover.join().unwrap();
    assert!(!dir.path().join("waits").exists());
    sweep(dir.path(), WAIT);
    assert!(!dir.path().join("swept").exists());
    assert!(dir.path().join("kept").exists());
}

/// Poststop read it: the waiting tracer returns at once; a later container of the same ID
/// (a new file) is not its to remove.
#[test]
fn a_read_outcome_ends_the_wait_and_a_new_one_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("gone");
    let finished = Claim::new(dir.path(), "same", &gone)
        .unwrap()
        .finish(&Outcome::Written("w".into()));
    collect(dir.path(), "same", WAIT).unwrap();
    Claim::new(dir.path(), "same", dir.path())
        .unwrap()
        .finish(&Outcome::Written("again".into()));
    let started = std::time::Instant::now();
    finished.wait_for_reader(WAIT);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(
        collect(dir.path(), "same", WAIT).unwrap(),
        Outcome::Written("again".into())
    );
}

/// The prestart hook saw its tracer fail: the outcome goes; one still claimed stays.
#[test]
fn a_failed_prestart_discards_the_outcome_of_a_gone_tracer_only() {
    let dir = tempfile::tempdir().unwrap();
    drop(Claim::new(dir.path(), "failed", dir.path()).unwrap());
    let _held = Claim::new(dir.path(), "held", dir.path()).unwrap();
    discard(dir.path(), "failed");
    discard(dir.path(), "held");
    assert!(!dir.path().join("failed").exists());
    assert!(dir.path().join("held").exists());
}
