//! Joining running programs by ID trusts an ID only while it names what the registry says:
//! the link's program, the program's name and tag. Needs root and eBPF (under CI=true these
//! fail instead of skipping when they cannot run).

use hook::{
    ebpf::{
        caps::CapWatch,
        programs::{AttachPoint, Programs},
        timings::AttachTimings,
    },
    node::registry::LinkRecord,
};

fn loaded() -> Option<(tokio::runtime::Runtime, Programs)> {
    e2e::ready(&[], load)
}

fn load() -> (tokio::runtime::Runtime, Programs) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let programs = {
        let _enter = runtime.enter();
        let mut timings = AttachTimings::default();
        Programs::load(AttachPoint::RawTracepoint, &mut timings).expect("programs load")
    };
    (runtime, programs)
}

#[test]
fn ids_are_trusted_only_while_they_name_our_programs() {
    let Some((_runtime, programs)) = loaded() else {
        return;
    };
    let records = programs.records().to_vec();
    // The shared three, then task_exec and a capability program where the kernel has one.
    let expected = match programs.caps() {
        CapWatch::Unavailable(_) => 3,
        _ => 5,
    };
    assert_eq!(records.len(), expected, "{records:?}");
    let joined = Programs::join(&records, None).expect("the records as published are trusted");
    assert_eq!(joined.link_count(), expected);
    // The same program; a joiner learns why there is none from the registry's note, not here.
    assert_eq!(
        joined.caps().observed_by().ok(),
        programs.caps().observed_by().ok()
    );

    let altered = |change: &dyn Fn(&mut Vec<LinkRecord>)| {
        let mut records = records.clone();
        change(&mut records);
        Programs::join(&records, None).is_some()
    };
    assert!(!altered(&|r| r[2].tag ^= 1), "a different tag was trusted");
    assert!(
        !altered(&|r| r[0].name = "task_fork".into()),
        "a program under another name was trusted"
    );
    assert!(
        !altered(&|r| {
            let (a, b) = (r[0].link, r[1].link);
            r[0].link = b;
            r[1].link = a;
        }),
        "links swapped between programs were trusted"
    );
    assert!(
        !altered(&|r| r[1].link = u32::MAX),
        "a missing link was trusted"
    );
    assert!(!altered(&|r| r.truncate(2)), "a partial list was trusted");
    if expected == 5 {
        assert!(
            !altered(&|r| r.truncate(4)),
            "task_exec without a capability program"
        );
    }

    // Once the last holder is gone, the IDs name nothing.
    drop((joined, programs));
    assert!(
        Programs::join(&records, None).is_none(),
        "detached programs were joined"
    );
}
