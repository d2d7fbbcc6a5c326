use super::*;

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn poststop_gets_the_outcome_once_the_tracer_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let claim = Claim::new(dir.path(), "abc123").unwrap();
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
    let claim = Claim::new(dir.path(), "early").unwrap();
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
    let _claim = Claim::new(dir.path(), "slow").unwrap();
    let err = collect(dir.path(), "slow", Duration::from_millis(100)).unwrap_err();
    assert!(err.to_string().contains("did not finish"), "{err}");
}

#[test]
fn a_dropped_claim_reports_failure() {
    let dir = tempfile::tempdir().unwrap();
    drop(Claim::new(dir.path(), "dead").unwrap());
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
        let claim = Claim::new(dir.path(), id).unwrap();
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
    let _first = Claim::new(dir.path(), "same").unwrap();
    assert!(matches!(
        Claim::new(dir.path(), "same"),
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
    Claim::new(dir.path(), "unread")
        .unwrap()
        .finish(&Outcome::Written("w".into()));
    Claim::new(dir.path(), "fresh")
        .unwrap()
        .finish(&Outcome::Written("w".into()));
    let claimed = Claim::new(dir.path(), "claimed").unwrap();
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
