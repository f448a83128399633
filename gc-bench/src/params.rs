//! Workload parameters: each workload declares its parameters ([`ParamSpec`]) with a default per
//! [`Scale`]; a run's actual values ([`Params`]) are those defaults with the user's
//! `key=value` overrides applied and checked.
//!
//! Parameters are numbers (counts, fractions, flags), except [paths](ParamKind::Path): text with
//! no default, which the user must give (the `snapshot` workload's `file`). Numbers and paths are
//! kept apart, so everything that reads numbers (records, reports) is unchanged by paths.

use std::collections::BTreeMap;
use std::fmt;

use crate::scale::Scale;

/// What values a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A whole number, at least the spec's `min`.
    Count,
    /// A fraction between 0 and 1 inclusive.
    Fraction,
    /// On or off: `1`/`true`/`yes` or `0`/`false`/`no`.
    Flag,
    /// A file path, as text. It has no default: a run of a workload that declares one must give
    /// it (`--param file=PATH`).
    Path,
}

/// One documented parameter of a workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    /// The name used in `--param name=value`.
    pub name: &'static str,
    /// What it means, in one line.
    pub doc: &'static str,
    /// What values it takes.
    pub kind: ParamKind,
    /// The smallest value accepted (for counts).
    pub min: u64,
    /// The default per scale, in the order of [`Scale::ALL`] (tiny, small, medium, large).
    pub defaults: [f64; 4],
}

impl ParamSpec {
    /// A count parameter with a default per scale (tiny, small, medium, large).
    pub const fn count(
        name: &'static str,
        doc: &'static str,
        min: u64,
        defaults: [u64; 4],
    ) -> Self {
        ParamSpec {
            name,
            doc,
            kind: ParamKind::Count,
            min,
            defaults: [
                defaults[0] as f64,
                defaults[1] as f64,
                defaults[2] as f64,
                defaults[3] as f64,
            ],
        }
    }

    /// A fraction parameter with the same default at every scale.
    pub const fn fraction(name: &'static str, doc: &'static str, default: f64) -> Self {
        ParamSpec {
            name,
            doc,
            kind: ParamKind::Fraction,
            min: 0,
            defaults: [default; 4],
        }
    }

    /// A flag parameter with the same default at every scale.
    pub const fn flag(name: &'static str, doc: &'static str, default: bool) -> Self {
        ParamSpec {
            name,
            doc,
            kind: ParamKind::Flag,
            min: 0,
            defaults: [if default { 1.0 } else { 0.0 }; 4],
        }
    }

    /// A path parameter: required, no default (its `defaults` are NaN and never used).
    pub const fn path(name: &'static str, doc: &'static str) -> Self {
        ParamSpec {
            name,
            doc,
            kind: ParamKind::Path,
            min: 0,
            defaults: [f64::NAN; 4],
        }
    }

    /// The default at `scale`.
    pub fn default_at(&self, scale: Scale) -> f64 {
        self.defaults[scale.index()]
    }

    /// Parses and checks a value given on the command line.
    fn parse(&self, text: &str) -> Result<f64, String> {
        match self.kind {
            ParamKind::Count => match text.trim().replace('_', "").parse::<u64>() {
                Ok(n) if n >= self.min => Ok(n as f64),
                Ok(n) => Err(format!(
                    "{}={n} is below its minimum {}",
                    self.name, self.min
                )),
                Err(_) => Err(format!(
                    "{}={text:?} is not a whole number (expected a count of at least {})",
                    self.name, self.min
                )),
            },
            ParamKind::Fraction => match text.trim().parse::<f64>() {
                Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
                _ => Err(format!(
                    "{}={text:?} is not a fraction between 0 and 1",
                    self.name
                )),
            },
            ParamKind::Flag => match text.trim() {
                "1" | "true" | "yes" | "on" => Ok(1.0),
                "0" | "false" | "no" | "off" => Ok(0.0),
                _ => Err(format!("{}={text:?} is not a flag (use 1 or 0)", self.name)),
            },
            ParamKind::Path => Err(format!("{} is a path, not a number", self.name)),
        }
    }
}

/// A bad `--param`: unknown name, malformed text or value out of range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError(pub String);

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParamError {}

/// The parameter values of one run, by name: numbers, and the [paths](ParamKind::Path) apart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Params {
    values: BTreeMap<String, f64>,
    texts: BTreeMap<String, String>,
}

impl Params {
    /// The defaults of `specs` at `scale`, with `overrides` (`key=value` texts) applied.
    pub fn resolve(
        workload: &str,
        specs: &[ParamSpec],
        scale: Scale,
        overrides: &[String],
    ) -> Result<Params, ParamError> {
        let mut values: BTreeMap<String, f64> = specs
            .iter()
            .filter(|spec| spec.kind != ParamKind::Path)
            .map(|spec| (spec.name.to_owned(), spec.default_at(scale)))
            .collect();
        let mut texts: BTreeMap<String, String> = BTreeMap::new();
        for text in overrides {
            let Some((key, value)) = text.split_once('=') else {
                return Err(ParamError(format!(
                    "bad --param {text:?}: expected key=value (parameters of {workload}: {})",
                    names(specs)
                )));
            };
            let key = key.trim();
            let Some(spec) = specs.iter().find(|spec| spec.name == key) else {
                return Err(ParamError(format!(
                    "unknown parameter {key:?} for workload {workload}: valid parameters are {}",
                    names(specs)
                )));
            };
            if spec.kind == ParamKind::Path {
                let path = value.trim();
                if path.is_empty() {
                    return Err(ParamError(format!(
                        "--param {key}= is empty: expected a path ({})",
                        spec.doc
                    )));
                }
                texts.insert(key.to_owned(), path.to_owned());
                continue;
            }
            let parsed = spec.parse(value).map_err(ParamError)?;
            values.insert(key.to_owned(), parsed);
        }
        let missing = specs
            .iter()
            .find(|spec| spec.kind == ParamKind::Path && !texts.contains_key(spec.name));
        if let Some(spec) = missing {
            return Err(ParamError(format!(
                "workload {workload} needs --param {}=PATH: {} (it has no default)",
                spec.name, spec.doc
            )));
        }
        Ok(Params { values, texts })
    }

    /// Builds parameters from recorded values (as a report stores them).
    pub fn from_values(values: BTreeMap<String, f64>) -> Params {
        Params {
            values,
            texts: BTreeMap::new(),
        }
    }

    /// All numeric values, by name.
    pub fn values(&self) -> &BTreeMap<String, f64> {
        &self.values
    }

    /// All path values, by name.
    pub fn texts(&self) -> &BTreeMap<String, String> {
        &self.texts
    }

    /// A path parameter.
    ///
    /// # Panics
    ///
    /// If the workload did not declare `name` as a path (a programming error, as for
    /// [`Params::count`]; a declared path is always present after [`Params::resolve`]).
    pub fn text(&self, name: &str) -> &str {
        match self.texts.get(name) {
            Some(text) => text,
            None => panic!("workload reads undeclared path parameter {name:?}"),
        }
    }

    /// A count parameter.
    ///
    /// # Panics
    ///
    /// If the workload did not declare `name`: a programming error in the workload, not bad
    /// input (input is checked by [`Params::resolve`]).
    pub fn count(&self, name: &str) -> u64 {
        self.get(name) as u64
    }

    /// A count parameter as a `usize`.
    pub fn size(&self, name: &str) -> usize {
        self.count(name) as usize
    }

    /// A fraction parameter (see [`Params::count`] for the panic).
    pub fn fraction(&self, name: &str) -> f64 {
        self.get(name)
    }

    /// A flag parameter (see [`Params::count`] for the panic).
    pub fn flag(&self, name: &str) -> bool {
        self.get(name) != 0.0
    }

    fn get(&self, name: &str) -> f64 {
        match self.values.get(name) {
            Some(value) => *value,
            None => panic!("workload reads undeclared parameter {name:?}"),
        }
    }
}

/// The parameter names of `specs`, comma separated.
fn names(specs: &[ParamSpec]) -> String {
    specs
        .iter()
        .map(|spec| spec.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[ParamSpec] = &[
        ParamSpec::count("depth", "tree depth", 1, [4, 14, 16, 18]),
        ParamSpec::fraction("survival", "kept", 0.25),
    ];

    #[test]
    fn defaults_follow_the_scale_and_overrides_apply() {
        let params = Params::resolve("t", SPECS, Scale::Small, &["survival=0.5".into()]).unwrap();
        assert_eq!(params.count("depth"), 14);
        assert_eq!(params.fraction("survival"), 0.5);
    }

    #[test]
    fn bad_input_names_the_valid_choices() {
        let unknown = Params::resolve("t", SPECS, Scale::Small, &["width=3".into()]);
        assert!(unknown.unwrap_err().0.contains("depth, survival"));
        let low = Params::resolve("t", SPECS, Scale::Small, &["depth=0".into()]);
        assert!(low.unwrap_err().0.contains("minimum 1"));
        let fraction = Params::resolve("t", SPECS, Scale::Small, &["survival=2".into()]);
        assert!(fraction.is_err());
        let shape = Params::resolve("t", SPECS, Scale::Small, &["depth".into()]);
        assert!(shape.unwrap_err().0.contains("key=value"));
    }

    #[test]
    fn a_path_is_required_and_kept_apart_from_the_numbers() {
        const WITH_PATH: &[ParamSpec] = &[
            ParamSpec::path("file", "the input"),
            ParamSpec::flag("payload", "bytes", false),
        ];
        let missing = Params::resolve("s", WITH_PATH, Scale::Small, &[]).unwrap_err();
        assert!(missing.0.contains("needs --param file=PATH"), "{missing}");
        let empty = Params::resolve("s", WITH_PATH, Scale::Small, &["file=".into()]);
        assert!(empty.unwrap_err().0.contains("empty"));
        let given =
            Params::resolve("s", WITH_PATH, Scale::Small, &["file=a=b.jsonl".into()]).unwrap();
        assert_eq!(given.text("file"), "a=b.jsonl");
        assert!(!given.flag("payload"));
        assert!(!given.values().contains_key("file"));
    }
}
