//! The `io.containers.trace-syscall` annotation: where to write the profile, and optionally a
//! baseline to extend. Grammar (compatible with upstream oci-seccomp-bpf-hook):
//! `of:/ABS/PATH` or `of:/ABS/PATH;if:/ABS/PATH` (either order, whitespace around parts trimmed).

use std::path::{Path, PathBuf};

/// The annotation key podman, CRI-O and Kubernetes pods pass.
pub const ANNOTATION: &str = "io.containers.trace-syscall";

const EXPECTED: &str =
    "expected \"of:/ABSOLUTE/PATH\", optionally followed by \";if:/ABSOLUTE/PATH\"";

/// What the annotation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Where the profile goes (`of:`).
    pub output: PathBuf,
    /// A profile to extend (`if:`).
    pub input: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {ANNOTATION} annotation {value:?}: {problem}; {EXPECTED}")]
pub struct AnnotationError {
    value: String,
    problem: String,
}

/// Parses the annotation's value.
pub fn parse(value: &str) -> Result<Request, AnnotationError> {
    let fail = |problem: String| AnnotationError {
        value: value.to_owned(),
        problem,
    };
    let parts: Vec<&str> = value.split(';').collect();
    if parts.len() > 2 {
        return Err(fail("more than one ';'".into()));
    }
    let (mut output, mut input) = (None, None);
    for part in parts {
        let part = part.trim();
        let (slot, key) = if let Some(rest) = part.strip_prefix("of:") {
            ((&mut output, rest), "of")
        } else if let Some(rest) = part.strip_prefix("if:") {
            ((&mut input, rest), "if")
        } else {
            return Err(fail(format!(
                "{part:?} starts with neither \"of:\" nor \"if:\""
            )));
        };
        let (target, path) = slot;
        if target.is_some() {
            return Err(fail(format!("\"{key}:\" is given twice")));
        }
        *target = Some(absolute_path(key, path.trim()).map_err(fail)?);
    }
    let output = output.ok_or_else(|| fail("the output file (\"of:\") is missing".into()))?;
    Ok(Request { output, input })
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
    }

    #[test]
    fn output_and_input_in_either_order_with_whitespace() {
        let expected = Request {
            output: "/out/p.json".into(),
            input: Some("/in/base.json".into()),
        };
        assert_eq!(ok("of:/out/p.json;if:/in/base.json"), expected);
        assert_eq!(ok(" if: /in/base.json ; of: /out/p.json "), expected);
    }

    #[test]
    fn every_bad_shape_is_refused_with_the_expected_form() {
        for (value, why) in [
            ("of:relative.json", "not absolute"),
            ("if:/a.json;of:rel", "not absolute"),
            ("xf:/a.json", "neither"),
            ("/a.json", "neither"),
            ("of:/a.json;of:/b.json", "given twice"),
            ("if:/a.json;if:/b.json", "given twice"),
            ("if:/a.json", "missing"),
            ("", "neither"),
            ("of:", "empty path"),
            ("of:   ", "empty path"),
            ("of:/a;if:/b;if:/c", "more than one ';'"),
            ("of:/a.json;", "neither"),
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
