//! The `io.containers.trace-syscall` annotation: where to write the profile, and optionally a
//! baseline to extend and where to write the capability report. Grammar (upstream
//! oci-seccomp-bpf-hook's, plus `caps:`): `of:/ABS/PATH`, optionally `;if:/ABS/PATH` and
//! `;caps:/ABS/PATH`, in any order, whitespace around parts trimmed.

use std::path::{Path, PathBuf};

/// The annotation key podman, CRI-O and Kubernetes pods pass.
pub const ANNOTATION: &str = "io.containers.trace-syscall";

const EXPECTED: &str = "expected \"of:/ABSOLUTE/PATH\", optionally followed by \
     \";if:/ABSOLUTE/PATH\" and \";caps:/ABSOLUTE/PATH\"";

/// What the annotation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Where the profile goes (`of:`).
    pub output: PathBuf,
    /// A profile to extend (`if:`).
    pub input: Option<PathBuf>,
    /// Where the capability report goes (`caps:`).
    pub caps: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {ANNOTATION} annotation {value:?}: {problem}; {EXPECTED}")]
pub struct AnnotationError {
    value: String,
    problem: String,
}

/// The keys, in [`Request`]'s order.
const KEYS: [&str; 3] = ["of", "if", "caps"];

/// Parses the annotation's value.
pub fn parse(value: &str) -> Result<Request, AnnotationError> {
    let fail = |problem: String| AnnotationError {
        value: value.to_owned(),
        problem,
    };
    let parts: Vec<&str> = value.split(';').collect();
    if parts.len() > 3 {
        return Err(fail("more than two ';'".into()));
    }
    let mut paths: [Option<PathBuf>; 3] = Default::default();
    for part in parts {
        let part = part.trim();
        let Some((index, key, path)) = KEYS.iter().enumerate().find_map(|(i, key)| {
            let path = part.strip_prefix(key)?.strip_prefix(':')?;
            Some((i, *key, path))
        }) else {
            return Err(fail(format!(
                "{part:?} starts with none of \"of:\", \"if:\", \"caps:\""
            )));
        };
        if paths[index].is_some() {
            return Err(fail(format!("\"{key}:\" is given twice")));
        }
        paths[index] = Some(absolute_path(key, path.trim()).map_err(fail)?);
    }
    let [output, input, caps] = paths;
    let output = output.ok_or_else(|| fail("the output file (\"of:\") is missing".into()))?;
    Ok(Request {
        output,
        input,
        caps,
    })
}

fn absolute_path(key: &str, path: &str) -> Result<PathBuf, String> {
    if path.is_empty() {
        return Err(format!("\"{key}:\" has an empty path"));
    }
    if !Path::new(path).is_absolute() {
        return Err(format!("\"{key}:\" path {path:?} is not absolute"));
    }
    Ok(PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(value: &str) -> Request {
        parse(value).unwrap_or_else(|e| panic!("{value:?}: {e}"))
    }

    fn problem(value: &str) -> String {
        parse(value).unwrap_err().to_string()
    }

    #[test]
    fn output_only() {
        let r = ok("of:/tmp/ls.json");
        assert_eq!(r.output, Path::new("/tmp/ls.json"));
        assert_eq!(r.input, None);
        assert_eq!(r.caps, None);
    }

    #[test]
    fn caps_in_any_position() {
        let r = ok("caps:/out/c.json; of:/out/p.json ;if:/in/b.json");
        assert_eq!(r.caps.as_deref(), Some(Path::new("/out/c.json")));
        assert_eq!(r.output, Path::new("/out/p.json"));
        assert_eq!(r.input.as_deref(), Some(Path::new("/in/b.json")));
    }

    #[test]
    fn output_and_input_in_either_order_with_whitespace() {
        let expected = Request {
            output: "/out/p.json".into(),
            input: Some("/in/base.json".into()),
            caps: None,
        };
        assert_eq!(ok("of:/out/p.json;if:/in/base.json"), expected);
        assert_eq!(ok(" if: /in/base.json ; of: /out/p.json "), expected);
    }

    #[test]
    fn every_bad_shape_is_refused_with_the_expected_form() {
        for (value, why) in [
            ("of:relative.json", "not absolute"),
            ("if:/a.json;of:rel", "not absolute"),
            ("xf:/a.json", "none of"),
            ("/a.json", "none of"),
            ("of:/a.json;caps:rel", "not absolute"),
            ("of:/a.json;caps:/c;caps:/d", "given twice"),
            ("caps:/c.json", "missing"),
            ("capsx:/c.json;of:/a", "none of"),
            ("of:/a.json;of:/b.json", "given twice"),
            ("if:/a.json;if:/b.json", "given twice"),
            ("if:/a.json", "missing"),
            ("", "none of"),
            ("of:", "empty path"),
            ("of:   ", "empty path"),
            ("of:/a;if:/b;caps:/c;if:/d", "more than two ';'"),
            ("of:/a.json;", "none of"),
        ] {
            let msg = problem(value);
            assert!(msg.contains(why), "{value:?} -> {msg}");
            assert!(msg.contains(EXPECTED), "{value:?} -> {msg}");
            assert_eq!(msg.lines().count(), 1, "one line: {msg}");
        }
    }
}

/// Whatever a pod author writes, the parser answers with a value or one-line error, never a
/// panic, and what it accepts round-trips.
#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn never_panics_and_errors_are_one_line(value in "\\PC*|[ ;:ofi/\\n.\\\\]{0,40}") {
            if let Err(e) = parse(&value) {
                let msg = e.to_string();
                prop_assert_eq!(msg.lines().count(), 1, "{}", msg);
            }
        }

        #[test]
        fn accepted_paths_round_trip(out in "/[a-z0-9._/-]{1,30}", inp in proptest::option::of("/[a-z0-9._/-]{1,30}")) {
            let value = match &inp {
                Some(i) => format!("of:{out};if:{i}"),
                None => format!("of:{out}"),
            };
            let request = parse(&value).unwrap();
            prop_assert_eq!(request.output, PathBuf::from(out.trim()));
            prop_assert_eq!(request.input, inp.map(|i| PathBuf::from(i.trim())));
        }
    }
}
