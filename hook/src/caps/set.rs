//! A set of capabilities as the kernel keeps one: a 64-bit mask, bit N for capability N.

use super::names;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapSet(pub u64);

impl CapSet {
    /// The set of `numbers` (those above 63 are ignored: no kernel has them).
    pub fn of(numbers: impl IntoIterator<Item = u32>) -> Self {
        Self(
            numbers
                .into_iter()
                .filter(|&n| n < 64)
                .fold(0, |mask, n| mask | 1 << n),
        )
    }

    /// A mask written in hex, as `/proc/PID/status` and `capsh --decode` show it (`0x` optional).
    pub fn parse_hex(text: &str) -> Option<Self> {
        let digits = text.trim();
        let digits = digits.strip_prefix("0x").unwrap_or(digits);
        u64::from_str_radix(digits, 16).ok().map(Self)
    }

    pub fn contains(self, number: u32) -> bool {
        number < 64 && self.0 & (1 << number) != 0
    }

    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub fn minus(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The capability numbers, ascending.
    pub fn numbers(self) -> impl Iterator<Item = u32> {
        (0..64).filter(move |&n| self.contains(n))
    }

    /// `CAP_*` names, ascending by number.
    pub fn names(self) -> Vec<String> {
        self.numbers().map(names::name).collect()
    }

    /// Names without the `CAP_` prefix, as Kubernetes, compose and podman's `--cap-add` take
    /// them.
    pub fn short_names(self) -> Vec<String> {
        self.names()
            .into_iter()
            .map(|n| n.strip_prefix("CAP_").map_or(n.clone(), str::to_owned))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_read_like_capsh() {
        // podman's default set.
        let set = CapSet::parse_hex("00000000800405fb").unwrap();
        assert_eq!(
            set.short_names(),
            [
                "CHOWN",
                "DAC_OVERRIDE",
                "FOWNER",
                "FSETID",
                "KILL",
                "SETGID",
                "SETUID",
                "SETPCAP",
                "NET_BIND_SERVICE",
                "SYS_CHROOT",
                "SETFCAP"
            ]
        );
        assert_eq!(CapSet::parse_hex("0x1"), Some(CapSet::of([0])));
        assert_eq!(CapSet::parse_hex("zz"), None);
        assert_eq!(CapSet::of([1, 3]).minus(CapSet::of([3])), CapSet::of([1]));
    }
}
