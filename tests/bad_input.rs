//! Bad input fails with one line, never a panic.
//!
//! Hostile files: the two file formats peff reads back (init files, SPEC §9, and partial-result
//! files of `--shard`/`--checkpoint`) must never panic, whatever the bytes, and must fail with a
//! one-line error.
//!
//! Property-test case counts (proptest, per run; 6,500 in all, about a second in release mode):
//!
//! | test | cases |
//! |---|---|
//! | `init_file_arbitrary_text` | 1,000 |
//! | `init_file_json_like_text` | 1,000 |
//! | `init_file_byte_edits` | 1,000 |
//! | `init_file_value_edits` | 500 |
//! | `partial_arbitrary_text` | 500 |
//! | `partial_byte_edits` | 1,000 |
//! | `partial_resigned_value_edits` | 1,000 |
//! | `merge_of_resigned_partials` | 500 |
//!
//! "Byte edits" flip, delete and insert bytes of a valid file; "value edits" change, delete or
//! duplicate one to three JSON values of a valid file. A partial-result file carries a SHA-256
//! checksum of its own JSON, so byte edits mostly stop at the checksum; the *re-signed* tests
//! recompute the checksum after editing (as anyone can) to reach the checks behind it.
//!
//! Bad flags and unusable files on the command line (SPEC §6, STYLE 11): every invalid value
//! of every `exact`/`sample` flag, negative values after a space, unusable `--init` files,
//! flags a command does not use or that cannot all hold, list flags, messages that state the
//! rule that was broken, stay short and write numbers compactly, and inputs refused at a cap.
//! Each exits non-zero with one stderr line naming the flag (`common::check_error`).

mod common;

use std::path::Path;
use std::sync::LazyLock;

use common::{check_error, expect_error, path_str, peff_command, resign, run_ok, toy};
use peff::data::DataSpace;
use peff::experiments::toy::partial::Partial;
use peff::experiments::toy::{enumerate_range, ToyExperiment};
use peff::experiments::toy::{ToyRecord, ToyRun};
use peff::model::toy::init_file::InitFile;
use peff::model::toy::lanes::TrainParams;
use peff::model::toy::{Loss, ToyShape};
use peff::prune::{Method, PruneSettings};
use peff::record::Shard;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Value};
use tempfile::TempDir;

/// Layer shapes `(out, in)` of the default regression model (`p = 21`).
const REGRESSION_LAYERS: [(usize, usize); 2] = [(4, 3), (1, 4)];
/// Layer shapes of the default classification model (`p = 20`).
const CLASSIFICATION_LAYERS: [(usize, usize); 2] = [(3, 3), (2, 3)];

/// A valid regression init file (pretty JSON, as `--dump-init` writes it).
static INIT_TEXT: LazyLock<String> = LazyLock::new(|| {
    let shape = ToyShape {
        input_dim: 3,
        hidden: 4,
        outputs: 1,
        loss: Loss::Mse,
    };
    InitFile::from_params(&shape.layers(), &shape.init_params(0)).to_json()
});

/// A tiny experiment: d = 1 (V = 4), n = 3 (20 multisets), h = 2 (p = 7), every method.
fn tiny_experiment() -> ToyExperiment {
    let shape = ToyShape {
        input_dim: 1,
        hidden: 2,
        outputs: 1,
        loss: Loss::Mse,
    };
    let p = shape.num_params();
    ToyExperiment {
        task: "hostile".into(),
        shape,
        space: DataSpace { input_dim: 1, n: 3 },
        train: TrainParams { steps: 20, lr: 0.1 },
        prune: PruneSettings {
            random_seed: 0,
            synflow_rounds: 10,
            imp_rate: 0.2,
            grasp_temperature: 1.0,
        },
        methods: Method::ALL.to_vec(),
        requested_k: (1..p).rev().collect(),
        init: shape.init_params(1),
        init_seed: Some(1),
    }
}

/// Shard 1/3 of the tiny experiment, tallied through the library, and its file text.
static PARTIAL: LazyLock<(Partial, String)> = LazyLock::new(|| {
    let exp = tiny_experiment();
    let shard = Shard { index: 1, count: 3 };
    let range = shard.range(exp.space.num_multisets().unwrap() as u64);
    let tallies = exp.tally(enumerate_range(exp.space, range.clone()), false, &|_| {});
    let record = ToyRecord {
        command: "exact".into(),
        config: ToyRun {
            experiment: exp,
            init_seeds: vec![1],
            samples: None,
            sample_seed: None,
        },
        shard: Some(shard),
    };
    let partial = Partial::from_tallies(record, range.clone(), range.end - range.start, &tallies);
    let text = serde_json::to_string(&partial).unwrap();
    (partial, text)
});

/// Whether `text` holds a JSON escape of a line break: serde echoes the offending string of an
/// unknown field or variant *decoded*, so such inputs give multi-line errors (a known bug,
/// pinned by `errors_echo_escaped_newlines_on_one_line`); the fuzzers exempt them from the
/// one-line check and check everything else.
fn escapes_line_break(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    [
        "\\n", "\\r", "\\u000a", "\\u000d", "\\u2028", "\\u2029", "\\u0085",
    ]
    .iter()
    .any(|e| lower.contains(e))
}

/// Fails unless `message` is one non-empty line (line breaks allowed only when the input
/// `text` escapes one, see [`escapes_line_break`]).
fn assert_one_line(message: &str, text: &str) -> Result<(), TestCaseError> {
    prop_assert!(!message.trim().is_empty(), "empty error");
    let breaks = message.contains(['\n', '\r', '\u{2028}', '\u{2029}', '\u{85}']);
    prop_assert!(
        !breaks || escapes_line_break(text),
        "error is not one line: {message:?}"
    );
    Ok(())
}

/// Parses an init file and flattens it for both presets; fails on a multi-line error or on
/// parameters that are not `p` finite values.
fn check_init_text(text: &str) -> Result<(), TestCaseError> {
    match InitFile::parse(text) {
        Err(e) => assert_one_line(&format!("{:#}", anyhow::Error::from(e)), text)?,
        Ok(file) => {
            for (layers, p) in [(REGRESSION_LAYERS, 21), (CLASSIFICATION_LAYERS, 20)] {
                match file.to_params(&layers) {
                    Err(e) => assert_one_line(&format!("{:#}", anyhow::Error::from(e)), text)?,
                    Ok(params) => {
                        prop_assert_eq!(params.len(), p);
                        prop_assert!(params.iter().all(|v| v.is_finite()));
                    }
                }
            }
        }
    }
    Ok(())
}

/// One edit of a file's bytes; positions are taken modulo the current length.
#[derive(Clone, Debug)]
enum ByteEdit {
    /// XOR the byte at a position with a non-zero value.
    Flip(usize, u8),
    /// Delete up to `len` bytes from a position.
    Delete(usize, usize),
    /// Insert bytes at a position.
    Insert(usize, Vec<u8>),
    /// Keep only a prefix.
    Truncate(usize),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    let tokens = select(vec![
        "0", "9", "-", ".", "e", "\"", ",", ":", "[", "]", "{", "}", "null", "1e999", "\\u0000",
    ]);
    prop_oneof![
        3 => (any::<usize>(), 1u8..=255).prop_map(|(at, x)| ByteEdit::Flip(at, x)),
        2 => (any::<usize>(), 1usize..16).prop_map(|(at, len)| ByteEdit::Delete(at, len)),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| ByteEdit::Insert(at, bytes)),
        2 => (any::<usize>(), tokens)
            .prop_map(|(at, t)| ByteEdit::Insert(at, t.as_bytes().to_vec())),
        1 => any::<usize>().prop_map(ByteEdit::Truncate),
    ]
}

/// Applies byte edits; invalid UTF-8 becomes U+FFFD (the files are read as text).
fn apply_byte_edits(text: &str, edits: &[ByteEdit]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for edit in edits {
        let len = bytes.len();
        match edit {
            ByteEdit::Flip(at, x) if len > 0 => bytes[at % len] ^= x,
            ByteEdit::Flip(..) => {}
            ByteEdit::Delete(at, n) => {
                let start = at % (len + 1);
                bytes.drain(start..(start + n).min(len));
            }
            ByteEdit::Insert(at, new) => {
                let at = at % (len + 1);
                bytes.splice(at..at, new.iter().copied());
            }
            ByteEdit::Truncate(at) => bytes.truncate(at % (len + 1)),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// One edit of a JSON value: the node is chosen by index (modulo the count of candidate nodes,
/// in document order) among the [`Scope`]'s nodes; a replacement has the same JSON type and is
/// likely to break a check.
#[derive(Clone, Debug)]
enum ValueEdit {
    Replace(Scope, usize, usize),
    Delete(Scope, usize),
    Duplicate(Scope, usize),
}

/// Where an edit lands: any node, or an object field outside / inside the `rows` array (a
/// partial file's rows hold most of its nodes, so without scopes the configuration, shard and
/// range fields would rarely be edited).
#[derive(Clone, Copy, Debug)]
enum Scope {
    Any,
    Header,
    Row,
}

impl Scope {
    fn admits(self, pointer: &str) -> bool {
        let field = pointer
            .rsplit('/')
            .next()
            .is_some_and(|last| last.parse::<usize>().is_err());
        match self {
            Scope::Any => true,
            Scope::Header => field && !pointer.starts_with("/rows/"),
            Scope::Row => field && pointer.starts_with("/rows/"),
        }
    }
}

fn value_edit() -> impl Strategy<Value = ValueEdit> {
    let scope = select(vec![Scope::Any, Scope::Header, Scope::Header, Scope::Row]);
    prop_oneof![
        4 => (scope.clone(), any::<usize>(), any::<usize>())
            .prop_map(|(s, node, v)| ValueEdit::Replace(s, node, v)),
        1 => (scope.clone(), any::<usize>()).prop_map(|(s, node)| ValueEdit::Delete(s, node)),
        1 => (scope, any::<usize>()).prop_map(|(s, node)| ValueEdit::Duplicate(s, node)),
    ]
}

fn hostile_numbers() -> Vec<Value> {
    vec![
        json!(0),
        json!(1),
        json!(2),
        json!(3),
        json!(6),
        json!(7),
        json!(13),
        json!(20),
        json!(64),
        json!(65),
        json!(1000),
        json!(1_000_000),
        json!(4096),
        json!(u64::MAX),
        json!(-1),
        json!(i64::MIN),
        json!(0.5),
        json!(-0.0),
        json!(1e300),
        json!(-1e300),
        json!(f64::MIN_POSITIVE),
    ]
}

fn hostile_strings() -> Vec<Value> {
    [
        "",
        "0",
        "1",
        "-1",
        "abc",
        "0000000",
        "1111111",
        "1000000",
        "0110000",
        "01",
        "2",
        "340282366920938463463374607431768211455",
        "340282366920938463463374607431768211456",
        "exact",
        "sample",
        "random",
        "magnitude",
        "imp",
        "peff-partial-1",
        "peff-partial-2",
    ]
    .iter()
    .map(|s| json!(s))
    .collect()
}

/// JSON pointers of every node below the root, in document order.
fn node_pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let ptr = format!("{at}/{i}");
                out.push(ptr.clone());
                node_pointers(item, ptr, out);
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                let ptr = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                out.push(ptr.clone());
                node_pointers(item, ptr, out);
            }
        }
        _ => {}
    }
}

fn apply_value_edits(value: &mut Value, edits: &[ValueEdit]) {
    let (numbers, strings) = (hostile_numbers(), hostile_strings());
    for edit in edits {
        let (ValueEdit::Replace(scope, node, _)
        | ValueEdit::Delete(scope, node)
        | ValueEdit::Duplicate(scope, node)) = *edit;
        let mut pointers = Vec::new();
        node_pointers(value, String::new(), &mut pointers);
        pointers.retain(|p| scope.admits(p));
        if pointers.is_empty() {
            continue;
        }
        let ptr = pointers[node % pointers.len()].clone();
        match *edit {
            ValueEdit::Replace(_, _, v) => {
                let target = value.pointer_mut(&ptr).unwrap();
                *target = match target {
                    Value::Number(_) | Value::Null => numbers[v % numbers.len()].clone(),
                    Value::String(_) => strings[v % strings.len()].clone(),
                    Value::Bool(b) => Value::Bool(!*b),
                    Value::Array(items) => {
                        let mut items = items.clone();
                        items.truncate(v % (items.len() + 1));
                        Value::Array(items)
                    }
                    Value::Object(_) => Value::Null,
                };
            }
            ValueEdit::Delete(..) | ValueEdit::Duplicate(..) => {
                let (parent, last) = ptr.rsplit_once('/').unwrap();
                let duplicate = matches!(edit, ValueEdit::Duplicate(..));
                match value.pointer_mut(parent).unwrap() {
                    Value::Array(items) => {
                        let i: usize = last.parse().unwrap();
                        if duplicate {
                            let item = items[i].clone();
                            items.insert(i, item);
                        } else {
                            items.remove(i);
                        }
                    }
                    Value::Object(fields) if !duplicate => {
                        fields.remove(&last.replace("~1", "/").replace("~0", "~"));
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Value-edits the valid partial file and re-signs it; `None` when the edit broke the JSON
/// structure so that it is no longer a `Partial` at all (then no checksum can be computed), or
/// when the edited shape's parameter count `p` overflows `usize` (a known bug, pinned by
/// `parse_rejects_a_shape_whose_parameter_count_overflows`).
fn resigned_variant(edits: &[ValueEdit]) -> Option<String> {
    let mut value: Value = serde_json::from_str(&PARTIAL.1).unwrap();
    apply_value_edits(&mut value, edits);
    let partial = serde_json::from_value::<Partial>(value).ok()?;
    let s = partial.run.config.experiment.shape;
    let (d, h, o) = (s.input_dim, s.hidden, s.outputs);
    h.checked_mul(d)?
        .checked_add(h)?
        .checked_add(o.checked_mul(h)?)?
        .checked_add(o)?;
    Some(resign(partial))
}

/// The valid partial file with `edit` applied to its value, re-signed, without any check.
fn resigned_with(edit: impl FnOnce(&mut Partial)) -> String {
    let mut partial = PARTIAL.0.clone();
    edit(&mut partial);
    resign(partial)
}

/// The fuzzers' starting points are valid: otherwise every edited case would fail early and
/// the properties below would test nothing. Fails if either format stops round-tripping.
#[test]
fn valid_files_parse() {
    let file = InitFile::parse(&INIT_TEXT).unwrap();
    assert_eq!(file.to_params(&REGRESSION_LAYERS).unwrap().len(), 21);
    let (partial, text) = &*PARTIAL;
    assert_eq!(&Partial::parse(text).unwrap(), partial);
    assert!(partial.is_complete());
    assert!(partial.payload.rows.iter().any(|r| !r.masks.is_empty()));
    // Re-signing an unchanged file reproduces it, so `resign` computes the real checksum.
    assert_eq!(&resign(partial.clone()), text);
    assert_eq!(
        Partial::parse(&resigned_variant(&[]).unwrap()).unwrap(),
        *partial
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Arbitrary Unicode text as an init file: a one-line error (or, by chance, a valid file),
    /// never a panic.
    #[test]
    fn init_file_arbitrary_text(text in any::<String>()) {
        check_init_text(&text)?;
    }

    /// JSON-like text (brackets, numbers, the init file's keys): reaches the shape checks of
    /// `to_params`, which must report a one-line error or give `p` finite parameters.
    #[test]
    fn init_file_json_like_text(
        text in r#"\{"layers":\[(\{"weight":\[(\[[0-9eE.+-]{0,4}(,[0-9.-]{1,3}){0,3}\],?){0,5}\],"bias":\[([0-9.e-]{1,3},?){0,5}\]\},?){0,3}\]\}"#
    ) {
        check_init_text(&text)?;
    }

    /// Flipped, deleted and inserted bytes of a valid init file: no panic, one-line errors.
    #[test]
    fn init_file_byte_edits(edits in prop::collection::vec(byte_edit(), 1..4)) {
        check_init_text(&apply_byte_edits(&INIT_TEXT, &edits))?;
    }

    /// Flipped, deleted and inserted bytes of a valid partial-result file: a one-line error
    /// (mostly the checksum's), never a panic.
    #[test]
    fn partial_byte_edits(edits in prop::collection::vec(byte_edit(), 1..4)) {
        let text = apply_byte_edits(&PARTIAL.1, &edits);
        match Partial::parse(&text) {
            Err(e) => assert_one_line(&format!("{e:#}"), &text)?,
            // Only edits that leave the JSON's meaning intact (whitespace, say) may pass the
            // checksum: the result is then the original file.
            Ok(parsed) => prop_assert_eq!(&parsed, &PARTIAL.0),
        }
    }

    /// Re-signed value edits of a valid partial file (shard numbers, ranges, weights, masks,
    /// the recorded experiment): every check behind the checksum reports a one-line error, and
    /// whatever passes yields its tallies without a panic.
    #[test]
    fn partial_resigned_value_edits(edits in prop::collection::vec(value_edit(), 1..4)) {
        if let Some(text) = resigned_variant(&edits) {
            match Partial::parse(&text) {
                Err(e) => assert_one_line(&format!("{e:#}"), &text)?,
                Ok(parsed) => {
                    let tallies = parsed.tallies().unwrap();
                    prop_assert_eq!(tallies.len(), parsed.payload.rows.len());
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Value edits of a valid init file (numbers, arrays cut short or duplicated, keys
    /// removed): a one-line error or `p` finite parameters.
    #[test]
    fn init_file_value_edits(edits in prop::collection::vec(value_edit(), 1..4)) {
        let mut value: Value = serde_json::from_str(&INIT_TEXT).unwrap();
        apply_value_edits(&mut value, &edits);
        check_init_text(&serde_json::to_string(&value).unwrap())?;
    }

    /// Arbitrary Unicode text as a partial-result file: a one-line error, never a panic.
    #[test]
    fn partial_arbitrary_text(text in any::<String>()) {
        match Partial::parse(&text) {
            Err(e) => assert_one_line(&format!("{e:#}"), &text)?,
            Ok(_) => prop_assert!(false, "random text parsed as a partial file"),
        }
    }

    /// What `peff merge` does with files that parse: merging a re-signed, value-edited shard
    /// with the two untouched shards of the same run and building the result rows must end in
    /// rows or a one-line error, never a panic.
    #[test]
    fn merge_of_resigned_partials(edits in prop::collection::vec(value_edit(), 1..4)) {
        if let Some(text) = resigned_variant(&edits) {
            if let Ok(edited) = Partial::parse(&text) {
                let others = other_shards();
                // The edited shard first: `merge` takes the shard count from the first file.
                let parts = [edited, others[0].clone(), others[1].clone()];
                match peff::experiments::toy::partial::merge(&parts) {
                    Err(e) => assert_one_line(&format!("{e:#}"), &text)?,
                    Ok((identity, tallies)) => {
                        let rows = peff::experiments::toy::report::exact_rows(&identity.config.experiment, &tallies);
                        prop_assert_eq!(rows.len(), tallies.len());
                    }
                }
            }
        }
    }
}

/// Shards 0/3 and 2/3 of the tiny experiment (complement of [`PARTIAL`]).
fn other_shards() -> Vec<Partial> {
    static OTHERS: LazyLock<Vec<Partial>> = LazyLock::new(|| {
        let record = PARTIAL.0.run.clone();
        let exp = &record.config.experiment;
        let total = exp.space.num_multisets().unwrap() as u64;
        [0, 2]
            .into_iter()
            .map(|index| {
                let shard = Shard { index, count: 3 };
                let range = shard.range(total);
                let tallies = exp.tally(enumerate_range(exp.space, range.clone()), false, &|_| {});
                let done = range.end - range.start;
                let record = ToyRecord {
                    shard: Some(shard),
                    ..record.clone()
                };
                Partial::from_tallies(record, range, done, &tallies)
            })
            .collect()
    });
    OTHERS.clone()
}

/// A JSON string that decodes to a line break, echoed by serde in an "unknown field" error,
/// must not split the CLI's error over two lines (SPEC §6: a one-line error): `peff` escapes
/// control characters when it prints an error. Fails if `peff exact --init` of such a file
/// prints more than one stderr line.
#[test]
fn errors_echo_escaped_newlines_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let init = dir.path().join("init.json");
    std::fs::write(&init, "{\"layers\": [], \"\\nx\": 1}").unwrap();
    let output = assert_cmd::Command::cargo_bin("peff")
        .unwrap()
        .args(["exact", "--out"])
        .arg(dir.path())
        .arg("--init")
        .arg(&init)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr:?}");
    assert!(stderr.contains("unknown field"), "{stderr:?}");
}

/// A re-signed partial file whose shape makes `p = h·d + h + o·h + o` overflow is rejected with
/// an error. Fails today under overflow checks (`cargo test` without `--release`):
/// `Partial::parse` computes `num_params()` of the unvalidated recorded shape and panics with
/// "attempt to multiply with overflow" (src/model/toy.rs); in release builds the product wraps
/// and the file is rejected only by accident (its masks no longer have length p).
#[test]
fn parse_rejects_a_shape_whose_parameter_count_overflows() {
    for edit in [
        (|p: &mut Partial| p.run.config.experiment.shape.hidden = usize::MAX) as fn(&mut Partial),
        |p: &mut Partial| p.run.config.experiment.shape.input_dim = usize::MAX,
        |p: &mut Partial| p.run.config.experiment.shape.outputs = usize::MAX / 2,
    ] {
        let error = Partial::parse(&resigned_with(edit)).unwrap_err();
        assert!(!format!("{error:#}").contains('\n'));
    }
}

/// A (re-signed) shard whose count N is huge is refused when parsed, before `merge` could
/// allocate one flag per shard (it once panicked with "capacity overflow" for N = u64::MAX).
#[test]
fn merge_rejects_a_huge_shard_count() {
    let text = resigned_with(|p| p.run.shard.as_mut().unwrap().count = u64::MAX);
    let error = Partial::parse(&text).unwrap_err();
    assert!(format!("{error:#}").contains("invalid shard"), "{error:#}");
}

// ---- bad flags and unusable files on the command line ----

/// `peff <command>` with a small valid configuration in which each `(flag, value)` of
/// `overrides` replaces the default; values are attached as `--flag=value`, or passed as a
/// separate argument when `separate` is set.
fn toy_args(command: &str, out: &Path, overrides: &[(&str, &str)], separate: bool) -> Vec<String> {
    let base = [
        ("--n", "2"),
        ("--steps", "50"),
        ("--methods", "magnitude,snip"),
    ];
    let mut args = vec![command.to_string(), "--out".into(), path_str(out).into()];
    for (flag, value) in base {
        if !overrides.iter().any(|(f, _)| *f == flag) {
            args.extend([flag.to_string(), value.to_string()]);
        }
    }
    for (flag, value) in overrides {
        if separate {
            args.extend([flag.to_string(), value.to_string()]);
        } else {
            args.push(format!("{flag}={value}"));
        }
    }
    args
}

/// A bad-input case: `(flag, value)` overrides of the valid configuration, and the phrases
/// the error must contain besides the flags.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

/// Checks every case `(overrides, phrases)` of `peff <command>` and panics with the list of
/// broken ones; each case's phrases are its flag plus the given ones.
fn check_cases(command: &str, cases: &[Case], separate: bool) {
    let tmp = TempDir::new().unwrap();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(overrides, phrases)| {
            let args = toy_args(command, tmp.path(), overrides, separate);
            let mut wanted: Vec<&str> = overrides.iter().map(|(flag, _)| *flag).collect();
            wanted.extend(phrases.iter());
            check_error(&args, &wanted).err()
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every invalid value of every `exact`/`sample` flag exits non-zero with one stderr line that
/// names the flag and the rule it broke, and no panic. Fails if a value slips through
/// validation (the tiny run would then succeed), if an error grows a second line, or if a
/// message loses its flag.
#[test]
fn invalid_flag_values_fail_with_one_line_naming_the_flag() {
    let exact: &[Case] = &[
        (&[("--k", "0")], &["must be in [1, 20]", "got 0"]),
        (&[("--k", "22")], &["must be in [1, 20] (p = 21", "got 22"]),
        (&[("--k", "x")], &["not an integer: 'x'"]),
        (&[("--k", ",")], &["needs at least one value"]),
        (
            &[("--sparsity", "1")],
            &["must be in [0.0239, 0.9761]", "got 1"],
        ),
        (
            &[("--sparsity", "-0.1")],
            &["must be in [0.0239, 0.9761]", "got -0.1"],
        ),
        (
            &[("--sparsity", "0.99")],
            &["must be in [0.0239, 0.9761] (p = 21", "got 0.99"],
        ),
        (&[("--sparsity", "half")], &["not a number: 'half'"]),
        (&[("--methods", "foo")], &["unknown method 'foo'", "valid:"]),
        (&[("--methods", "magnitude,foo")], &["unknown method 'foo'"]),
        (&[("--n", "0")], &["must be in [1, 30]", "got 0"]),
        (&[("--n", "-3")], &["must be in [1, 30]", "got -3"]),
        (&[("--n", "31")], &["must be in [1, 30]", "got 31"]),
        (&[("--n", "x")], &["invalid value 'x'"]),
        (&[("--hidden", "0")], &["must be in [1, 64]", "got 0"]),
        (&[("--hidden", "20")], &["p = 101", "p ≤ 64"]),
        (&[("--input-dim", "0")], &["must be in [1, 16]", "got 0"]),
        (&[("--input-dim", "17")], &["must be in [1, 16]", "got 17"]),
        (&[("--lr", "0")], &["must be a finite number > 0", "got 0"]),
        (
            &[("--lr", "-1")],
            &["must be a finite number > 0", "got -1"],
        ),
        (
            &[("--lr", "nan")],
            &["must be a finite number > 0", "got NaN"],
        ),
        (
            &[("--lr", "inf")],
            &["must be a finite number > 0", "got inf"],
        ),
        (&[("--steps", "0")], &["must be in [1, 10000000]", "got 0"]),
        (&[("--imp-rate", "0")], &["must be in (0, 1)", "got 0"]),
        (&[("--imp-rate", "1")], &["must be in (0, 1)", "got 1"]),
        (&[("--imp-rate", "nan")], &["must be in (0, 1)", "got NaN"]),
        (
            &[("--grasp-temperature", "0")],
            &["finite number > 0", "got 0"],
        ),
        (
            &[("--grasp-temperature", "inf")],
            &["finite number > 0", "got inf"],
        ),
        (
            &[("--synflow-rounds", "0")],
            &["must be in [1, 100000]", "got 0"],
        ),
        (&[("--threads", "-1")], &["must be in [0, 1024]", "got -1"]),
        (
            &[("--threads", "1025")],
            &["must be in [0, 1024]", "got 1025"],
        ),
        (&[("--inits", "0")], &["must be in [1, 10000]", "got 0"]),
        (&[("--shard", "3/3")], &["i/N with 0 ≤ i < N", "got '3/3'"]),
        (&[("--shard", "x")], &["i/N with 0 ≤ i < N", "got 'x'"]),
        (&[("--shard", "0/0")], &["i/N with 0 ≤ i < N", "got '0/0'"]),
        (
            &[("--checkpoint-interval", "-1")],
            &["finite number ≥ 0", "got -1"],
        ),
        (
            &[("--checkpoint-interval", "nan")],
            &["finite number ≥ 0", "got NaN"],
        ),
        (&[("--task", "vision")], &["invalid value 'vision'"]),
        (&[("--format", "xml")], &["invalid value 'xml'"]),
        (
            &[("--inits", "2"), ("--shard", "0/2")],
            &["whole exact enumerations only"],
        ),
        (
            &[("--k", "3"), ("--sparsity", "0.5")],
            &["cannot be used with"],
        ),
    ];
    check_cases("exact", exact, false);
    let sample: &[Case] = &[
        (
            &[("--samples", "0")],
            &["must be in [1, 1000000000]", "got 0"],
        ),
        (
            &[("--samples", "-5")],
            &["must be in [1, 1000000000]", "got -5"],
        ),
        (&[("--lr", "0")], &["must be a finite number > 0", "got 0"]),
        (&[("--k", "0")], &["must be in [1, 20]", "got 0"]),
        (
            &[("--inits", "2")],
            &["`--inits` is not used by `peff sample`"],
        ),
    ];
    check_cases("sample", sample, false);
}

/// Negative values written as a separate argument (`--n -3`, the way people type them) are
/// reported like `--n=-3`: naming the flag and the valid range. Fails today: clap takes `-3`
/// for an unknown flag and prints "unexpected argument '-3' found", which names no flag.
#[test]
fn negative_values_after_a_space_name_the_flag() {
    let cases: &[Case] = &[
        (&[("--n", "-3")], &["must be in [1, 30]"]),
        (&[("--lr", "-1")], &["finite number > 0"]),
        (&[("--threads", "-1")], &["must be in [0, 1024]"]),
        (&[("--checkpoint-interval", "-1")], &["finite number ≥ 0"]),
        (&[("--sparsity", "-0.1")], &["must be in [0.0239, 0.9761]"]),
    ];
    check_cases("exact", cases, true);
}

/// `--init` files that cannot be used (missing, not JSON, unknown keys, wrong layer count,
/// shapes of another architecture or task) fail with one line naming `--init`, the file and
/// the mismatch. Fails if a wrong-shaped init were silently truncated or padded.
#[test]
fn unusable_init_files_fail_with_one_line() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let out = path_str(dir);
    let regression = dir.join("regression-init.json");
    run_ok(&[
        "exact",
        "--n",
        "2",
        "--steps",
        "50",
        "--methods",
        "synflow",
        "--out",
        out,
        "--dump-init",
        path_str(&regression),
    ]);
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let missing = dir.join("missing.json");
    let malformed = write("malformed.json", "{\"layers\": [");
    let unknown = write("unknown.json", "{\"layers\": [], \"extra\": 1}");
    let empty = write("empty.json", "{\"layers\": []}");
    let huge = write(
        "huge.json",
        "{\"layers\": [{\"weight\": [[1e999]], \"bias\": [0]}]}",
    );
    let base = ["exact", "--n", "2", "--steps", "50", "--out", out];
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["--init", path_str(&missing)],
            vec!["`--init`: cannot read", "missing.json"],
        ),
        (
            vec!["--init", &malformed],
            vec!["`--init`", "malformed.json", "malformed init file"],
        ),
        (
            vec!["--init", &unknown],
            vec!["malformed init file", "unknown field `extra`"],
        ),
        (
            vec!["--init", &empty],
            vec!["init file has 0 layers, the model has 2"],
        ),
        (
            vec!["--init", &huge],
            vec!["`--init`", "malformed init file"],
        ),
        (
            vec!["--init", path_str(&regression), "--input-dim", "2"],
            vec!["layer 0: weight has shape 4x3, the model needs 4x2"],
        ),
        (
            vec!["--init", path_str(&regression), "--hidden", "5"],
            vec!["layer 0: weight has shape 4x3, the model needs 5x3"],
        ),
        (
            vec!["--init", path_str(&regression), "--task", "classification"],
            vec![
                "`--init`",
                "regression-init.json",
                "layer 0: weight has shape 4x3, the model needs 3x3",
            ],
        ),
        (
            vec!["--init", path_str(&regression), "--inits", "2"],
            vec!["cannot be used with"],
        ),
    ];
    for (extra, phrases) in cases {
        let args: Vec<&str> = base.iter().chain(&extra).copied().collect();
        expect_error(&args, &phrases);
    }
}

/// The error for an init file that is not JSON states serde's reason once. Fails today: the
/// `Malformed` variant both prints its source (`{0}`) and exposes it as `source()`, so `{:#}`
/// prints "malformed init file: EOF while parsing … : EOF while parsing …".
#[test]
fn malformed_init_error_states_its_cause_once() {
    let tmp = TempDir::new().unwrap();
    let malformed = tmp.path().join("malformed.json");
    std::fs::write(&malformed, "{\"layers\": [").unwrap();
    let line = expect_error(
        &[
            "exact",
            "--out",
            path_str(tmp.path()),
            "--init",
            path_str(&malformed),
        ],
        &["malformed init file"],
    );
    assert_eq!(line.matches("EOF while parsing").count(), 1, "{line}");
}

/// `--k p`, `--sparsity 0` (k = p) and IMP at k = p panicked at "every method has rows" in
/// exact, sample and converge; now every command refuses them with one line naming the flag
/// and the valid range of k (p = 17 here).
#[test]
fn kept_count_equal_to_p_is_refused_not_a_panic() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    for command in ["exact", "sample", "converge"] {
        for extra in [
            &["--k", "17"][..],
            &["--methods", "imp", "--k", "17"],
            &["--sparsity", "0"],
            &["--sparsity", "0,0.5", "--methods", "imp"],
        ] {
            let flag = extra[extra.len() - 2];
            let flag = if flag == "--methods" { extra[0] } else { flag };
            expect_error(&toy(command, out, extra), &[flag, "must be in", "[1, 16]"]);
        }
    }
}

/// Flags a command does not use were accepted and ignored (`converge --shard/--checkpoint/
/// --inits`, `sample --max-datasets`); now they are refused with one line naming the flag.
#[test]
fn flags_a_command_does_not_use_are_refused() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    for (command, extra) in [
        ("converge", &["--shard", "0/2"][..]),
        ("converge", &["--checkpoint", "c.json"]),
        (
            "converge",
            &["--checkpoint", "c.json", "--checkpoint-interval", "5"],
        ),
        ("converge", &["--inits", "2"]),
        ("converge", &["--dump-init", "i.json"]),
        ("sample", &["--max-datasets", "5"]),
        ("sample", &["--inits", "2"]),
    ] {
        let flag = if extra[0] == "--checkpoint" && extra.len() == 2 {
            "--checkpoint"
        } else {
            extra[0]
        };
        expect_error(&toy(command, out, extra), &[flag, "is not used by"]);
    }
    expect_error(
        &toy("exact", out, &["--checkpoint-interval", "5"]),
        &["--checkpoint-interval", "needs `--checkpoint"],
    );
}

/// `--init FILE --init-seed 5` recorded a seed that was not used, `--dump-init F --inits 3`
/// dumped one init of three, `--init-seed 2^64−1 --inits 2` wrapped to seed 0: all refused.
#[test]
fn init_flags_that_cannot_all_hold_are_refused() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let init = tmp.path().join("init.json");
    run_ok(&toy(
        "exact",
        out,
        &["--dump-init", path_str(&init), "--k", "3"],
    ));
    expect_error(
        &toy(
            "exact",
            out,
            &["--init", path_str(&init), "--init-seed", "5"],
        ),
        &["--init", "--init-seed", "cannot be used with"],
    );
    expect_error(
        &toy("exact", out, &["--dump-init", "d.json", "--inits", "3"]),
        &["--dump-init", "--inits", "cannot be used with"],
    );
    expect_error(
        &toy(
            "exact",
            out,
            &["--init-seed", "18446744073709551615", "--inits", "2"],
        ),
        &["--init-seed", "2^64"],
    );
}

/// Error messages that were wrong or unhelpful: `--resamples 1` said "[1, …]", `all,imp` said
/// "unknown method 'all'", `--max-datasets 0` suggested an impossible shard count, the
/// `--sparsity` limit disagreed with what was accepted, a bad `--task` listed no valid values.
#[test]
fn messages_state_the_rule_that_was_broken() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    let output = peff_command()
        .args(["entropy", "--resamples", "1", "-"])
        .write_stdin("3\n2\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`--resamples` must be in [2, 1000000], got 1"),
        "{stderr}"
    );
    let line = expect_error(
        &toy("exact", out, &["--methods", "all,imp"]),
        &["--methods", "`all`"],
    );
    assert!(!line.contains("unknown method"), "{line}");
    expect_error(
        &toy("exact", out, &["--max-datasets", "0"]),
        &["--max-datasets", "≥ 1"],
    );
    expect_error(
        &toy("exact", out, &["--task", "Regression"]),
        &["--task", "regression, classification"],
    );
    // p = 17: the message's range [0.0295, 0.9705] is exactly what is accepted.
    let line = expect_error(&toy("exact", out, &["--sparsity", "0.98"]), &["--sparsity"]);
    assert!(line.contains("[0.0295, 0.9705]"), "{line}");
    for ok in ["0.0295", "0.9705"] {
        run_ok(&toy(
            "exact",
            out,
            &["--sparsity", ok, "--methods", "snip", "--force"],
        ));
    }
    for bad in ["0.0294", "0.9706"] {
        expect_error(
            &toy("exact", out, &["--sparsity", bad]),
            &["[0.0295, 0.9705]"],
        );
    }
}

/// `--k 5,,6` was accepted while `--samples 50,,100` was refused, and duplicates were dropped
/// silently: one rule for every list (no empty item, no repeat).
#[test]
fn every_list_flag_follows_one_rule() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    for (command, flag, empty, repeat) in [
        ("exact", "--k", "5,,6", "5,6,5"),
        ("exact", "--sparsity", "0.5,,0.6", "0.5,0.6,0.5"),
        ("exact", "--methods", "snip,,imp", "snip,imp,snip"),
        ("converge", "--samples", "50,,100", "50,100,50"),
        ("converge", "--k", "5,", "5,5"),
    ] {
        expect_error(&toy(command, out, &[flag, empty]), &[flag, "empty item"]);
        expect_error(&toy(command, out, &[flag, repeat]), &[flag, "twice"]);
    }
    // Two sparsities that round to the same k are a repeat too.
    expect_error(
        &toy("exact", out, &["--sparsity", "0.5,0.49"]),
        &["both give k = 9"],
    );
}

/// Error messages echoed whole inputs (a 10 MB line went to stderr): quoted input is cut.
#[test]
fn errors_quoting_huge_inputs_stay_short() {
    let tmp = TempDir::new().unwrap();
    let huge = "7".repeat(100_000) + "x";
    let counts = tmp.path().join("counts.txt");
    std::fs::write(&counts, format!("3\n{huge}\n")).unwrap();
    let line = expect_error(&["entropy", path_str(&counts)], &["line 2"]);
    assert!(line.len() < 500, "{} bytes", line.len());
    let long_k = format!("--k={huge}");
    let line = expect_error(&["exact", &long_k], &["--k"]);
    assert!(line.len() < 500, "{} bytes", line.len());
    let line = expect_error(&["exact", "--task", &huge], &["--task"]);
    assert!(line.len() < 600, "{} bytes", line.len());
}

/// `--init /dev/zero` and gigabytes of counts grew memory without bound; inputs are capped.
#[test]
fn unbounded_inputs_are_refused_at_a_cap() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    expect_error(
        &toy("exact", out, &["--init", "/dev/zero"]),
        &["--init", "limit of 1 MiB"],
    );
    expect_error(
        &["entropy", "/dev/zero"],
        &["counts file", "limit of 256 MiB"],
    );
    expect_error(&["verify", "/dev/zero"], &["limit of 64 MiB"]);
}

/// Issue 26: the sparse-kernel threshold is a kept fraction; outside `[0, 1]` (or not a number)
/// it is refused in one line by every command that takes it.
#[test]
fn sparse_below_outside_the_unit_interval_is_refused() {
    for command in ["memorize", "noise-corr"] {
        for bad in ["1.5", "-0.1", "NaN", "inf"] {
            expect_error(
                &[
                    command,
                    "--sparse-below",
                    bad,
                    "--out",
                    "/nonexistent/never",
                ],
                &["--sparse-below", "[0, 1]"],
            );
        }
    }
}

/// Flags accepted and ignored: `noise-corr --sweep lr --lr 5` recorded the `--lr` it ignored;
/// `plot scaling --k 9,9` drew two identical panels. Both are refused.
#[test]
fn ignored_flags_are_refused() {
    let tmp = TempDir::new().unwrap();
    let out = path_str(tmp.path());
    expect_error(
        &["noise-corr", "--sweep", "lr", "--lr", "5", "--out", out],
        &["`--lr`", "`--values`"],
    );
    expect_error(
        &[
            "plot",
            "scaling",
            "results/scaling-n.csv",
            "--k",
            "9,9",
            "--out",
            &format!("{out}/s.svg"),
        ],
        &["`--k`", "9", "twice"],
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// Huge numbers were printed with 301 digits (`--lr 1e-300`); every message now writes them
/// compactly.
#[test]
fn huge_numbers_in_messages_are_compact() {
    let tmp = TempDir::new().unwrap();
    let line = expect_error(
        &[
            "noise-corr",
            "--lr",
            "1e-300",
            "--out",
            path_str(tmp.path()),
        ],
        &["`--lr`", "1e-300"],
    );
    assert!(line.len() < 200, "{line}");
    assert_eq!(
        peff::cli::errors::compact_numbers("got 0.000000000000000000000000000001."),
        "got 1e-30."
    );
    assert_eq!(
        peff::cli::errors::compact_numbers(
            "sha abc1234567890123456789012345678 and /a/1234567890123456789012345678"
        ),
        "sha abc1234567890123456789012345678 and /a/1234567890123456789012345678"
    );
}
