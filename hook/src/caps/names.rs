//! The capabilities by number, with the name tools print and what each allows
//! (capabilities(7), shortened).

/// (number, name, what it allows), in number order.
pub const CAPABILITIES: [(u32, &str, &str); 41] = [
    (0, "CAP_CHOWN", "change a file's owner and group"),
    (
        1,
        "CAP_DAC_OVERRIDE",
        "read, write and execute any file, whatever its mode",
    ),
    (
        2,
        "CAP_DAC_READ_SEARCH",
        "read any file and search any directory",
    ),
    (
        3,
        "CAP_FOWNER",
        "act as the owner of any file (chmod, utime, ...)",
    ),
    (
        4,
        "CAP_FSETID",
        "keep set-user/group-ID bits when a file is modified",
    ),
    (5, "CAP_KILL", "send signals to any process"),
    (6, "CAP_SETGID", "change group IDs and supplementary groups"),
    (7, "CAP_SETUID", "change user IDs"),
    (
        8,
        "CAP_SETPCAP",
        "change capability sets and the bounding set",
    ),
    (
        9,
        "CAP_LINUX_IMMUTABLE",
        "set the immutable and append-only file flags",
    ),
    (
        10,
        "CAP_NET_BIND_SERVICE",
        "bind ports below the unprivileged port start (1024)",
    ),
    (
        11,
        "CAP_NET_BROADCAST",
        "broadcast and listen to multicast (unused by the kernel)",
    ),
    (
        12,
        "CAP_NET_ADMIN",
        "configure interfaces, routes, firewall and sockets",
    ),
    (13, "CAP_NET_RAW", "use raw and packet sockets"),
    (
        14,
        "CAP_IPC_LOCK",
        "lock memory (mlock, mlockall, huge pages)",
    ),
    (15, "CAP_IPC_OWNER", "bypass System V IPC permission checks"),
    (16, "CAP_SYS_MODULE", "load and unload kernel modules"),
    (17, "CAP_SYS_RAWIO", "raw I/O (ioperm, iopl, /dev/mem)"),
    (18, "CAP_SYS_CHROOT", "chroot and change mount namespaces"),
    (19, "CAP_SYS_PTRACE", "trace and inspect any process"),
    (20, "CAP_SYS_PACCT", "turn process accounting on and off"),
    (
        21,
        "CAP_SYS_ADMIN",
        "mount, namespaces, and many other administration tasks",
    ),
    (22, "CAP_SYS_BOOT", "reboot and load a new kernel"),
    (
        23,
        "CAP_SYS_NICE",
        "raise priority and change scheduling of any process",
    ),
    (
        24,
        "CAP_SYS_RESOURCE",
        "override resource limits and quotas",
    ),
    (25, "CAP_SYS_TIME", "set the system clock"),
    (26, "CAP_SYS_TTY_CONFIG", "configure and hang up terminals"),
    (27, "CAP_MKNOD", "create device files"),
    (28, "CAP_LEASE", "take leases on any file"),
    (
        29,
        "CAP_AUDIT_WRITE",
        "write records to the kernel audit log",
    ),
    (30, "CAP_AUDIT_CONTROL", "configure kernel auditing"),
    (31, "CAP_SETFCAP", "set file capabilities"),
    (
        32,
        "CAP_MAC_OVERRIDE",
        "override mandatory access control (Smack)",
    ),
    (
        33,
        "CAP_MAC_ADMIN",
        "configure mandatory access control (Smack)",
    ),
    (34, "CAP_SYSLOG", "read and clear the kernel log"),
    (35, "CAP_WAKE_ALARM", "set alarms that wake the system"),
    (36, "CAP_BLOCK_SUSPEND", "block system suspend"),
    (
        37,
        "CAP_AUDIT_READ",
        "read the audit log through multicast netlink",
    ),
    (
        38,
        "CAP_PERFMON",
        "use performance monitoring (perf_event_open)",
    ),
    (39, "CAP_BPF", "use privileged BPF operations"),
    (
        40,
        "CAP_CHECKPOINT_RESTORE",
        "checkpoint and restore processes (CRIU)",
    ),
];

/// `CAP_CHOWN` for 0; `cap_41` (capsh's spelling) for a number this table lacks.
pub fn name(number: u32) -> String {
    CAPABILITIES.get(number as usize).map_or_else(
        || format!("cap_{number}"),
        |(_, name, _)| (*name).to_owned(),
    )
}

/// What capability `number` allows, when known.
pub fn allows(number: u32) -> Option<&'static str> {
    CAPABILITIES.get(number as usize).map(|(_, _, what)| *what)
}

/// The number of `name` (`CAP_CHOWN`, `chown` or `CHOWN`).
pub fn number(name: &str) -> Option<u32> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    CAPABILITIES
        .iter()
        .find(|(_, known, _)| *known == full)
        .map(|(n, ..)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_positions_and_names_round_trip() {
        for (i, (n, name, _)) in CAPABILITIES.iter().enumerate() {
            assert_eq!(i as u32, *n);
            assert_eq!(number(name), Some(*n));
        }
        assert_eq!(number("net_raw"), Some(13));
        assert_eq!(name(41), "cap_41");
    }
}
