//! A process's five capability sets, as `/proc/PID/status` shows them.

use super::set::CapSet;

/// The sets of one process, in the order `/proc/PID/status` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessCaps {
    pub inheritable: CapSet,
    pub permitted: CapSet,
    pub effective: CapSet,
    pub bounding: CapSet,
    pub ambient: CapSet,
}

/// The five field names and what each set means, for people.
pub const SETS: [(&str, &str); 5] = [
    ("CapInh", "inheritable"),
    ("CapPrm", "permitted"),
    ("CapEff", "effective"),
    ("CapBnd", "bounding"),
    ("CapAmb", "ambient"),
];

/// The sets of process `pid`.
pub fn read(pid: u32) -> std::io::Result<ProcessCaps> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse(&status)
        .ok_or_else(|| std::io::Error::other(format!("/proc/{pid}/status has no capability sets")))
}

fn parse(status: &str) -> Option<ProcessCaps> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(CapSet::parse_hex)
    };
    Some(ProcessCaps {
        inheritable: field("CapInh")?,
        permitted: field("CapPrm")?,
        effective: field("CapEff")?,
        bounding: field("CapBnd")?,
        ambient: field("CapAmb")?,
    })
}

impl ProcessCaps {
    /// The sets in [`SETS`] order.
    pub fn all(&self) -> [CapSet; 5] {
        [
            self.inheritable,
            self.permitted,
            self.effective,
            self.bounding,
            self.ambient,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_five_sets() {
        let me = read(std::process::id()).unwrap();
        assert_eq!(me.all().len(), 5);
        let text = "Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t00000000000005fb\n\
                    CapEff:\t00000000000005fb\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n";
        let caps = parse(text).unwrap();
        assert!(caps.effective.contains(0));
        assert!(!caps.ambient.contains(0));
    }
}
