//! Reading a gclab heap snapshot (format described in the [module docs](super)): [`Snapshot`]
//! in, or one [`SnapshotError`] naming the 1-based line that is wrong.
//!
//! The reader takes the file line by line, so that every problem is tied to a line: each line is
//! parsed as a `serde_json::Value` and its fields are then checked one by one, which gives
//! messages in the format's own terms ("`out` lists 7, but ids run from 0 to 5") rather than
//! serde's. Checks that need the whole file — the counts against the header, objects with no
//! reference at all — run at the end, still before anything is built. Nothing is allocated in
//! proportion to what the header *claims*: a header announcing 10¹⁸ objects costs nothing until
//! the lines are there.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::{Map, Value};

use super::graph;

/// The value of the header's `format` field.
pub const FORMAT: &str = "gclab-heap-snapshot";

/// The format version this reader understands.
pub const VERSION: u64 = 1;

/// The largest `ext` accepted: the replay holds one handle per external reference, so an
/// immortal object's refcount (about 2³² in CPython 3.12+) would cost gigabytes. Such an object
/// is a root whatever its exact count; an exporter should clamp or leave it out.
pub const MAX_EXT: u64 = 1 << 24;

/// What `reserve` may take on trust from the header before the lines are read.
const TRUSTED_CAPACITY: usize = 1 << 16;

/// The header line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The Python version that was exported (`"3.11.7"`).
    pub python: String,
    /// The number of object lines, N.
    pub objects: usize,
    /// The total length of all `out` lists, E.
    pub edges: u64,
    /// What CPython's `gc.collect()` returned on the exported heap.
    pub cpython_unreachable: u64,
    /// How long that `gc.collect()` took, in nanoseconds.
    pub cpython_collect_ns: u64,
}

/// One object line (its id is its index in [`Snapshot::objects`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRecord {
    /// The name of the object's type (`"list"`).
    pub type_name: String,
    /// `sys.getsizeof` of the object, in bytes.
    pub size: u64,
    /// References from outside the snapshot.
    pub ext: u64,
    /// The ids this object references, with multiplicity.
    pub out: Vec<usize>,
}

/// A snapshot that passed every check: ids dense, edges in range, counts as the header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The header.
    pub header: Header,
    /// The objects, by id.
    pub objects: Vec<ObjectRecord>,
}

/// Why a snapshot was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotError {
    /// The 1-based line at fault; `None` if the file could not be opened at all.
    pub line: Option<usize>,
    /// What is wrong, in one sentence.
    pub message: String,
}

impl SnapshotError {
    fn at(line: usize, message: impl Into<String>) -> SnapshotError {
        SnapshotError {
            line: Some(line),
            message: message.into(),
        }
    }
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for SnapshotError {}

impl Snapshot {
    /// Reads and checks the snapshot in the file at `path`.
    pub fn read(path: &Path) -> Result<Snapshot, SnapshotError> {
        let file = File::open(path).map_err(|error| SnapshotError {
            line: None,
            message: format!("cannot open the file: {error}"),
        })?;
        Snapshot::parse(BufReader::new(file))
    }

    /// Reads and checks a snapshot from `reader` (see the [module docs](self)).
    pub fn parse(mut reader: impl BufRead) -> Result<Snapshot, SnapshotError> {
        let mut header: Option<Header> = None;
        let mut objects: Vec<ObjectRecord> = Vec::new();
        let mut edges: u64 = 0;
        let mut line_no = 0usize;
        let mut text = String::new();
        loop {
            text.clear();
            let read = reader.read_line(&mut text).map_err(|error| {
                let why = if error.kind() == std::io::ErrorKind::InvalidData {
                    "not UTF-8 text".to_owned()
                } else {
                    format!("cannot read the file: {error}")
                };
                SnapshotError::at(line_no + 1, why)
            })?;
            if read == 0 {
                break;
            }
            line_no += 1;
            let terminated = text.ends_with('\n');
            let line = text.trim_end_matches(['\n', '\r']);

            let Some(head) = &header else {
                let value = parse_json(line, line_no, terminated)?;
                let parsed = parse_header(&value).map_err(|m| SnapshotError::at(line_no, m))?;
                objects.reserve(parsed.objects.min(TRUSTED_CAPACITY));
                header = Some(parsed);
                continue;
            };
            let id = objects.len();
            if line.trim().is_empty() {
                if id == head.objects {
                    continue; // empty lines after the last object are harmless
                }
                return Err(SnapshotError::at(
                    line_no,
                    format!("empty line where object {id} was expected"),
                ));
            }
            if id == head.objects {
                return Err(SnapshotError::at(
                    line_no,
                    format!(
                        "more object lines than the {} the header announces",
                        head.objects
                    ),
                ));
            }
            let value = parse_json(line, line_no, terminated)?;
            let object = parse_object(&value, id, head.objects)
                .map_err(|m| SnapshotError::at(line_no, m))?;
            edges += object.out.len() as u64;
            objects.push(object);
        }

        let Some(header) = header else {
            return Err(SnapshotError::at(1, "empty file: expected the header line"));
        };
        if objects.len() < header.objects {
            return Err(SnapshotError::at(
                line_no + 1,
                format!(
                    "the file ends after {} of the {} objects the header announces (truncated?)",
                    objects.len(),
                    header.objects
                ),
            ));
        }
        if edges != header.edges {
            return Err(SnapshotError::at(
                1,
                format!(
                    "the header announces {} edges, but the object lines list {edges}",
                    header.edges
                ),
            ));
        }
        let snapshot = Snapshot { header, objects };
        let in_degrees = graph::in_degrees(&snapshot);
        if let Some(id) = (0..snapshot.objects.len())
            .find(|&id| snapshot.objects[id].ext == 0 && in_degrees[id] == 0)
        {
            return Err(SnapshotError::at(
                Snapshot::line_of(id),
                format!(
                    "object {id} has no reference at all (ext 0 and no incoming edge): a live \
                     CPython object has at least one"
                ),
            ));
        }
        let unreachable = graph::unreachable(&snapshot);
        if unreachable as u64 != snapshot.header.cpython_unreachable {
            return Err(SnapshotError::at(
                1,
                format!(
                    "cpython_unreachable is {}, but {unreachable} objects of the graph are \
                     unreachable from the objects with ext > 0: the snapshot contradicts itself",
                    snapshot.header.cpython_unreachable
                ),
            ));
        }
        Ok(snapshot)
    }

    /// Parses a snapshot held in a string (see [`Snapshot::parse`]).
    pub fn parse_str(text: &str) -> Result<Snapshot, SnapshotError> {
        Snapshot::parse(text.as_bytes())
    }

    /// The 1-based line that object `id` is on.
    pub fn line_of(id: usize) -> usize {
        id + 2
    }
}

/// Parses one line as a JSON object.
fn parse_json(
    line: &str,
    line_no: usize,
    terminated: bool,
) -> Result<Map<String, Value>, SnapshotError> {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(SnapshotError::at(
            line_no,
            format!("expected a JSON object, found {}", kind(&other)),
        )),
        Err(error) if error.is_eof() && !terminated => Err(SnapshotError::at(
            line_no,
            "the file ends in the middle of this line (truncated?)",
        )),
        Err(error) => {
            let text = error.to_string();
            let what = text.rsplit_once(" at line ").map_or(&*text, |(m, _)| m);
            Err(SnapshotError::at(
                line_no,
                format!("not JSON: {what} (column {})", error.column()),
            ))
        }
    }
}

/// Checks the header line.
fn parse_header(map: &Map<String, Value>) -> Result<Header, String> {
    match map.get("format") {
        None => return Err(format!("missing field \"format\": not a {FORMAT} header")),
        Some(Value::String(format)) if format == FORMAT => {}
        Some(other) => {
            return Err(format!(
                "format is {other}, expected \"{FORMAT}\": not a gclab heap snapshot"
            ))
        }
    }
    let version = uint(map, "version")?;
    if version != VERSION {
        return Err(format!(
            "unsupported version {version}: this gclab reads version {VERSION}"
        ));
    }
    let python = match map.get("python") {
        None => return Err("missing field \"python\"".to_owned()),
        Some(Value::String(text)) => text.clone(),
        Some(other) => return Err(format!("field \"python\" must be text, found {other}")),
    };
    let objects = uint(map, "objects")?;
    let objects = usize::try_from(objects)
        .map_err(|_| format!("\"objects\": {objects} is more than this machine can address"))?;
    let header = Header {
        python,
        objects,
        edges: uint(map, "edges")?,
        cpython_unreachable: uint(map, "cpython_unreachable")?,
        cpython_collect_ns: uint(map, "cpython_collect_ns")?,
    };
    if header.cpython_unreachable > objects as u64 {
        return Err(format!(
            "cpython_unreachable is {}, more than the {objects} objects of the snapshot",
            header.cpython_unreachable
        ));
    }
    Ok(header)
}

/// Checks an object line: it must be object `id` of `count`.
fn parse_object(map: &Map<String, Value>, id: usize, count: usize) -> Result<ObjectRecord, String> {
    let given = match map.get("id") {
        None => return Err(format!("missing field \"id\" (expected id {id})")),
        Some(value) => value.as_u64(),
    };
    if given != Some(id as u64) {
        return Err(format!(
            "id {} where id {id} was expected: ids run from 0 to N-1 in order, one per line",
            map["id"]
        ));
    }
    let type_name = match map.get("type") {
        None => return Err("missing field \"type\"".to_owned()),
        Some(Value::String(text)) => text.clone(),
        Some(other) => return Err(format!("field \"type\" must be text, found {other}")),
    };
    let size = uint(map, "size")?;
    let ext = match map.get("ext") {
        None => return Err("missing field \"ext\"".to_owned()),
        Some(value) => match (value.as_u64(), value.as_i64()) {
            (Some(ext), _) if ext <= MAX_EXT => ext,
            (Some(ext), _) => {
                return Err(format!(
                    "ext {ext} is above the replay's limit of {MAX_EXT} external references \
                     (an immortal object? the exporter should clamp its count)"
                ))
            }
            (None, Some(negative)) => {
                return Err(format!(
                    "negative ext {negative}: ext counts references from outside the snapshot \
                     (refcount minus in-snapshot references) and cannot be below 0"
                ))
            }
            _ => {
                return Err(format!(
                    "field \"ext\" must be a non-negative integer, found {value}"
                ))
            }
        },
    };
    let out = match map.get("out") {
        None => return Err("missing field \"out\"".to_owned()),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (at, item) in items.iter().enumerate() {
                match item.as_u64() {
                    Some(target) if target < count as u64 => out.push(target as usize),
                    _ => {
                        return Err(format!(
                            "out[{at}] is {item}, not an object id: ids run from 0 to {} \
                             (the header announces {count} objects)",
                            count as i128 - 1
                        ))
                    }
                }
            }
            out
        }
        Some(other) => {
            return Err(format!(
                "field \"out\" must be a list of ids, found {}",
                kind(other)
            ))
        }
    };
    Ok(ObjectRecord {
        type_name,
        size,
        ext,
        out,
    })
}

/// A required non-negative integer field.
fn uint(map: &Map<String, Value>, name: &str) -> Result<u64, String> {
    match map.get(name) {
        None => Err(format!("missing field \"{name}\"")),
        Some(value) => value.as_u64().ok_or_else(|| {
            format!("field \"{name}\" must be a non-negative integer, found {value}")
        }),
    }
}

/// What kind of JSON value this is, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"{"format": "gclab-heap-snapshot", "version": 1, "python": "3.12.1", "objects": 2, "edges": 2, "cpython_unreachable": 0, "cpython_collect_ns": 1000}"#;

    #[test]
    fn a_small_snapshot_parses() {
        let text = format!(
            "{HEADER}\n{}\n{}\n",
            r#"{"id": 0, "type": "list", "size": 72, "ext": 1, "out": [1, 1]}"#,
            r#"{"id": 1, "type": "dict", "size": 64, "ext": 0, "out": [], "extra": true}"#
        );
        let snapshot = Snapshot::parse_str(&text).unwrap();
        assert_eq!(snapshot.header.python, "3.12.1");
        assert_eq!(snapshot.objects[0].out, vec![1, 1]);
        assert_eq!(snapshot.objects[1].type_name, "dict");
    }

    #[test]
    fn a_last_line_without_newline_is_fine_if_complete() {
        let text = format!(
            "{HEADER}\n{}\n{}",
            r#"{"id": 0, "type": "list", "size": 72, "ext": 1, "out": [1, 1]}"#,
            r#"{"id": 1, "type": "dict", "size": 64, "ext": 0, "out": []}"#
        );
        assert!(Snapshot::parse_str(&text).is_ok());
    }

    #[test]
    fn a_huge_announced_count_costs_nothing() {
        let text = HEADER.replace("\"objects\": 2", "\"objects\": 1000000000000000000");
        let error = Snapshot::parse_str(&format!("{text}\n")).unwrap_err();
        assert_eq!(error.line, Some(2));
        assert!(error.message.contains("truncated"), "{error}");
    }
}
