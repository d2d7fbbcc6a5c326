//! The kernel's lockdown mode: in `confidentiality` the verifier refuses every program that
//! reads kernel memory (`bpf_probe_read`, which ours needs), and its log says only
//! "unknown func bpf_probe_read#4". Knowing the mode turns that into a line a user can act on.

const LOCKDOWN: &str = "/sys/kernel/security/lockdown";

/// The current mode (`none`, `integrity`, `confidentiality`), when securityfs tells.
pub fn current_mode() -> Option<String> {
    parse(&std::fs::read_to_string(LOCKDOWN).ok()?)
}

/// The bracketed word of `none integrity [confidentiality]`.
fn parse(text: &str) -> Option<String> {
    text.split_whitespace()
        .find_map(|w| w.strip_prefix('[')?.strip_suffix(']'))
        .map(str::to_owned)
}

/// True when `mode` forbids what our programs do.
pub fn forbids_tracing(mode: &str) -> bool {
    mode == "confidentiality"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bracketed_mode_is_current() {
        assert_eq!(
            parse("none integrity [confidentiality]\n").as_deref(),
            Some("confidentiality")
        );
        assert_eq!(
            parse("[none] integrity confidentiality\n").as_deref(),
            Some("none")
        );
        assert_eq!(parse(""), None);
        assert!(forbids_tracing("confidentiality"));
        assert!(!forbids_tracing("integrity"));
    }
}
