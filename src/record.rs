//! What a run is, recorded once: the subcommand, its full configuration (seeds included) and the
//! slice of it that was computed. Result JSONs, shard files and checkpoints all carry this one
//! record, so "do these files belong to the same run?" has one answer everywhere.
//!
//! Every experiment's shard files (and the toy's checkpoints) share one envelope,
//! [`ShardFile`]; what an experiment adds is its payload and the check of it
//! ([`ShardPayload`]).
//!
//! ```text
//! result JSON  = { peff_version, git_commit, run, threads, merged_from_shards?, wall_seconds,
//!                  pmf_sha256?, summary?, csv_sha256?, rows }
//! shard file   = { format, peff_version, run (shard set for --shard runs), <payload fields>,
//!                  wall_seconds? (checkpoints), checksum }
//! checksum     = SHA-256 (hex) of the file's compact JSON with checksum = ""
//! same run     ⇔ run.command and run.config are equal (shards differ only in run.shard)
//! shard i of N covers items [⌊i·M/N⌋, ⌊(i+1)·M/N⌋) of M (datasets, or seeds)
//! ```
//!
//! The payloads: the toy's tallies (`peff-partial-2`: `start, end, done, rows`), memorize's
//! per-seed cells (`peff-memorize-shard-1`: `start, end, results`) and noise-corr's per-seed
//! curves (`peff-noise-corr-shard-1`: `results`).

use std::path::Path;

use anyhow::{bail, Context};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Largest shard count accepted.
pub const MAX_SHARDS: u64 = 1_000_000;

/// Which slice of a run's items (datasets, seeds) a process computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based shard index `i`.
    pub index: u64,
    /// Number of shards `N`.
    pub count: u64,
}

impl Shard {
    /// The whole run as one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `i/N` with `0 ≤ i < N ≤ MAX_SHARDS`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let bad = || {
            anyhow::anyhow!("`--shard` must look like i/N with 0 ≤ i < N ≤ {MAX_SHARDS} (e.g. 0/7), got '{text}'")
        };
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        let shard = Shard { index, count };
        shard.is_valid().then_some(shard).ok_or_else(bad)
    }

    /// The file a shard of the result `<stem>` is written to: `<stem>.shard-<i>-of-<N>.json`.
    pub fn file_name(self, stem: &str) -> String {
        format!("{stem}.shard-{}-of-{}.json", self.index, self.count)
    }

    /// Whether `0 ≤ index < count ≤ MAX_SHARDS`.
    pub fn is_valid(self) -> bool {
        self.count > 0 && self.index < self.count && self.count <= MAX_SHARDS
    }

    /// The item indices of this shard out of `total`.
    pub fn range(self, total: u64) -> std::ops::Range<u64> {
        let at = |i: u64| (i as u128 * total as u128 / self.count as u128) as u64;
        at(self.index)..at(self.index + 1)
    }
}

/// What was run: everything that must agree for two files to belong to one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord<C> {
    /// The subcommand (`exact`, `sample`, `converge`, …).
    pub command: String,
    /// The full configuration, seeds included: rerunning it reproduces the run.
    pub config: C,
    /// The slice computed (`--shard i/N`); `None` for a whole run.
    pub shard: Option<Shard>,
}

impl<C: PartialEq> RunRecord<C> {
    /// Whether `other` records the same run (possibly another shard of it).
    pub fn same_run(&self, other: &RunRecord<C>) -> bool {
        self.command == other.command && self.config == other.config
    }
}

/// Puts the shard files of one run in shard order: every file must record the same run (command
/// and configuration) with the same shard count, each shard exactly once and none missing (a
/// file without a shard is the run's only shard). Returns the files in shard order and the
/// record of the whole run. One rule for every command's `peff merge`.
pub fn order_shards<T, C: PartialEq + Clone + Serialize>(
    parts: &[T],
    record: impl Fn(&T) -> &RunRecord<C>,
) -> anyhow::Result<(Vec<&T>, RunRecord<C>)> {
    use anyhow::{bail, Context};
    let first = parts.first().context("no shard files given")?;
    let shard_of = |part: &T| record(part).shard.unwrap_or(Shard::WHOLE);
    let count = shard_of(first).count;
    let mut slots: Vec<Option<&T>> = vec![None; count as usize];
    for part in parts {
        let s = shard_of(part);
        if !record(part).same_run(record(first)) {
            let value = |r: &RunRecord<C>| serde_json::json!({ "command": &r.command, "config": &r.config });
            let (field, ours, theirs) =
                first_difference(&value(record(part)), &value(record(first)), "run")
                    .unwrap_or_else(|| ("run".to_string(), "?".to_string(), "?".to_string()));
            bail!(
                "shard {}/{} belongs to a different configuration than shard {}/{count}: `{field}` is {ours} there and {theirs} in shard {}/{count}",
                s.index,
                s.count,
                shard_of(first).index,
                shard_of(first).index
            );
        }
        if s.count != count {
            bail!("shard counts differ: {} and {count}", s.count);
        }
        if slots[s.index as usize].replace(part).is_some() {
            bail!("shard {}/{count} is given twice", s.index);
        }
    }
    let missing: Vec<u64> = (0..count)
        .filter(|&i| slots[i as usize].is_none())
        .collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing
            .iter()
            .take(10)
            .map(|i| format!("{i}/{count}"))
            .collect();
        let more = if missing.len() > 10 {
            format!(", … ({} in all)", missing.len())
        } else {
            String::new()
        };
        bail!("missing shards: {}{more}", shown.join(", "));
    }
    let whole = RunRecord {
        shard: None,
        ..record(first).clone()
    };
    Ok((slots.into_iter().flatten().collect(), whole))
}

/// Values serialised under another name by earlier versions, as `(current, former)` fragments
/// of compact JSON. Reading accepts both (a serde alias), and [`current_spelling`] maps a recorded
/// run to the current names before it is compared.
pub const RENAMED: [(&str, &str); 1] = [(
    r#""optimizer":{"name":"gd""#,
    r#""optimizer":{"name":"sgd""#,
)];

/// `value` with the [`RENAMED`] values in their current spelling (a run record read from an
/// older file compares equal to the same configuration run now).
pub fn current_spelling(value: &serde_json::Value) -> serde_json::Value {
    let text = value.to_string();
    if !RENAMED.iter().any(|(_, then)| text.contains(then)) {
        return value.clone();
    }
    let text = RENAMED
        .iter()
        .fold(text, |text, (now, then)| text.replace(then, now));
    serde_json::from_str(&text).unwrap_or_else(|_| value.clone())
}

/// The first place where two JSON values differ: its dotted path (`run.config.lr`, array
/// items as `[i]`) and the two values, compact and cut to 80 characters.
pub fn first_difference(
    a: &serde_json::Value,
    b: &serde_json::Value,
    path: &str,
) -> Option<(String, String, String)> {
    use serde_json::Value;
    if a == b {
        return None;
    }
    let short = |v: &Value| {
        let text = v.to_string();
        if text.chars().count() > 80 {
            format!("{}…", text.chars().take(79).collect::<String>())
        } else {
            text
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (key, va) in x {
                let Some(vb) = y.get(key) else {
                    return Some((format!("{path}.{key}"), short(va), "absent".to_string()));
                };
                if let Some(d) = first_difference(va, vb, &format!("{path}.{key}")) {
                    return Some(d);
                }
            }
            y.iter()
                .find(|(key, _)| !x.contains_key(*key))
                .map(|(key, vb)| (format!("{path}.{key}"), "absent".to_string(), short(vb)))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (va, vb))| first_difference(va, vb, &format!("{path}[{i}]"))),
        _ => Some((path.to_string(), short(a), short(b))),
    }
}

/// A JSON result file: the run record, how it ran, and the rows of its table.
#[derive(Serialize)]
pub struct ResultFile<'a, C: Serialize, R: Serialize> {
    /// peff's version.
    pub peff_version: &'static str,
    /// Git commit of the build, if known.
    pub git_commit: Option<&'static str>,
    /// What was run.
    pub run: &'a RunRecord<C>,
    /// Worker threads the computation ran on; `None` (JSON `null`) for a result merged from
    /// shards, whose threads are not recorded (each shard may have run on other machines).
    pub threads: Option<usize>,
    /// Number of shard files the result was merged from (`peff merge`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_from_shards: Option<u64>,
    /// Wall time of the computation, seconds (for a merged result: of the merge).
    pub wall_seconds: f64,
    /// SHA-256 of the mask pmf (hex), independent of thread count and sharding (toy runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pmf_sha256: Option<String>,
    /// A command's summary of its rows (e.g. `converge`'s interval coverage).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<serde_json::Value>,
    /// SHA-256 (hex) of the `<stem>.csv` written beside this file, so that `peff verify` and
    /// `peff plot` detect a CSV and a JSON of two different runs
    /// ([`crate::export::check_result_pair`]); set when the pair is written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csv_sha256: Option<String>,
    /// The result rows.
    pub rows: &'a [R],
}

impl<'a, C: Serialize, R: Serialize> ResultFile<'a, C, R> {
    /// A result file for `run` stamped with this build's version and commit.
    pub fn new(run: &'a RunRecord<C>, threads: Threads, wall_seconds: f64, rows: &'a [R]) -> Self {
        let (threads, merged_from_shards) = match threads {
            Threads::Ran(n) => (Some(n), None),
            Threads::Merged { shards } => (None, Some(shards)),
        };
        ResultFile {
            peff_version: env!("CARGO_PKG_VERSION"),
            git_commit: git_commit(),
            run,
            threads,
            merged_from_shards,
            wall_seconds,
            pmf_sha256: None,
            summary: None,
            csv_sha256: None,
            rows,
        }
    }
}

/// How a result was computed, as its file records it (`threads`, `merged_from_shards`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// Computed here on this many worker threads.
    Ran(usize),
    /// Merged from this many shard files; the threads the shards ran on are not known.
    Merged {
        /// Number of shard files.
        shards: u64,
    },
}

/// What one experiment's shard files hold beside the envelope of [`ShardFile`], and how that
/// payload is checked against the run it records. The payload's fields sit at the top level
/// of the file, between `run` and `checksum`.
pub trait ShardPayload<C>: Serialize + DeserializeOwned {
    /// The file's `format` tag (e.g. `peff-memorize-shard-1`).
    const FORMAT: &'static str;
    /// What such a file is, for messages: "a peff memorize shard file".
    const WHAT: &'static str;

    /// Checks the payload against the run record (after the envelope's checks: format,
    /// checksum, a valid shard if any): the recorded configuration is valid, the payload
    /// covers exactly the shard's items and has the shape the configuration implies.
    fn check(&self, run: &RunRecord<C>) -> anyhow::Result<()>;
}

/// A shard file (or checkpoint) of any experiment: the envelope every experiment shares.
///
/// ```text
/// { "format": P::FORMAT, "peff_version": "…", "run": RunRecord<C>, <P's fields>, "checksum": "…" }
/// ```
///
/// Reading refuses unknown keys, a wrong format tag, a checksum mismatch, an invalid shard and
/// whatever [`ShardPayload::check`] refuses, each with a one-line error; files are read
/// through [`crate::input::read_capped`] with the cap
/// [`MAX_SHARD_BYTES`](crate::input::MAX_SHARD_BYTES).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShardFile<C, P> {
    /// The experiment's format tag, [`ShardPayload::FORMAT`].
    pub format: String,
    /// peff version that wrote it.
    pub peff_version: String,
    /// The run it belongs to; `run.shard` is set for `--shard` runs.
    pub run: RunRecord<C>,
    /// What the experiment computed for the shard (its fields are the file's).
    #[serde(flatten)]
    pub payload: P,
    /// Wall time, seconds, of the work the file holds, over every part of the run so far (a
    /// checkpoint's; a resumed run's `wall_seconds` adds it). Absent in shard files and in
    /// files written before it was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wall_seconds: Option<f64>,
    /// SHA-256 (hex) of this file's compact JSON with `checksum` empty.
    pub checksum: String,
}

/// The serialised form with `checksum` empty, borrowed (what the checksum covers).
#[derive(Serialize)]
struct Unsigned<'a, C, P> {
    format: &'a str,
    peff_version: &'a str,
    run: &'a RunRecord<C>,
    #[serde(flatten)]
    payload: &'a P,
    #[serde(skip_serializing_if = "Option::is_none")]
    wall_seconds: Option<f64>,
    checksum: &'static str,
}

impl<C, P> ShardFile<C, P>
where
    C: Serialize + DeserializeOwned,
    P: ShardPayload<C>,
{
    /// A shard file of `run` holding `payload`, stamped with this build's version and signed.
    pub fn new(run: RunRecord<C>, payload: P) -> Self {
        let mut file = ShardFile {
            format: P::FORMAT.to_string(),
            peff_version: env!("CARGO_PKG_VERSION").to_string(),
            run,
            payload,
            wall_seconds: None,
            checksum: String::new(),
        };
        file.checksum = file.compute_checksum();
        file
    }

    /// The file recording `seconds` of wall time ([`ShardFile::wall_seconds`]), signed again.
    pub fn with_wall_seconds(mut self, seconds: f64) -> Self {
        self.wall_seconds = Some(seconds);
        self.checksum = self.compute_checksum();
        self
    }

    /// SHA-256 (hex) of the file's compact JSON with `checksum` empty.
    pub fn compute_checksum(&self) -> String {
        Self::sha256(&self.unsigned_json())
    }

    /// The checksum of a file's own text: SHA-256 of its JSON, compact, keys in file order,
    /// with `checksum` empty. It equals [`Self::compute_checksum`] of what the writer held, so a
    /// file written by an earlier version verifies even where this version would serialise the
    /// same run differently (a renamed value, a field added since with a default).
    fn text_checksum(text: &str) -> Option<String> {
        let mut value: serde_json::Value = serde_json::from_str(text).ok()?;
        *value.as_object_mut()?.get_mut("checksum")? = serde_json::Value::from("");
        Some(Self::sha256(&value.to_string()))
    }

    fn unsigned_json(&self) -> String {
        let unsigned = Unsigned {
            format: &self.format,
            peff_version: &self.peff_version,
            run: &self.run,
            payload: &self.payload,
            wall_seconds: self.wall_seconds,
            checksum: "",
        };
        serde_json::to_string(&unsigned).expect("shard files always serialise")
    }

    fn sha256(text: &str) -> String {
        use sha2::{Digest, Sha256};
        format!("{:x}", Sha256::digest(text.as_bytes()))
    }

    /// Parses and checks a shard file's text: JSON of this envelope and payload (no unknown
    /// keys), the format tag, the checksum, a valid shard if one is recorded, then the
    /// payload's own check.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let file: Self = serde_json::from_str(text).with_context(|| format!("not {}", P::WHAT))?;
        if file.format != P::FORMAT {
            bail!(
                "unsupported format '{}' (expected {})",
                file.format,
                P::FORMAT
            );
        }
        if Self::text_checksum(text).as_deref() != Some(file.checksum.as_str()) {
            bail!("checksum mismatch: the file was modified or truncated");
        }
        if let Some(shard) = file.run.shard.filter(|s| !s.is_valid()) {
            bail!("invalid shard {}/{}", shard.index, shard.count);
        }
        file.payload.check(&file.run)?;
        Ok(file)
    }

    /// Reads (at most [`MAX_SHARD_BYTES`](crate::input::MAX_SHARD_BYTES)) and checks a shard
    /// file.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = crate::input::read_capped_text(path, crate::input::MAX_SHARD_BYTES, P::WHAT)
            .with_context(|| format!("reading '{}'", path.display()))?;
        Self::parse(&text).with_context(|| format!("'{}'", path.display()))
    }
}

/// Reads the envelope by hand so that the payload's fields, which sit beside the envelope's,
/// are checked for unknown keys (`#[serde(flatten)]` cannot deny them).
impl<'de, C: DeserializeOwned, P: DeserializeOwned> Deserialize<'de> for ShardFile<C, P> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        use serde_json::Value;
        let mut map = deserializer.deserialize_map(Fields)?;
        let mut take =
            |key: &'static str| map.remove(key).ok_or_else(|| D::Error::missing_field(key));
        fn field<T: DeserializeOwned, E: Error>(key: &str, value: Value) -> Result<T, E> {
            serde_json::from_value(value).map_err(|e| E::custom(format!("`{key}`: {e}")))
        }
        let format = field("format", take("format")?)?;
        let peff_version = field("peff_version", take("peff_version")?)?;
        let run = field("run", take("run")?)?;
        let checksum = field("checksum", take("checksum")?)?;
        let wall_seconds = match map.remove("wall_seconds") {
            Some(v) => field("wall_seconds", v)?,
            None => None,
        };
        let payload = P::deserialize(Value::Object(map)).map_err(D::Error::custom)?;
        Ok(ShardFile {
            format,
            peff_version,
            run,
            payload,
            wall_seconds,
            checksum,
        })
    }
}

/// The keys and values of a JSON object, refusing a key given twice (as a derived
/// `Deserialize` does).
struct Fields;

impl<'de> serde::de::Visitor<'de> for Fields {
    type Value = serde_json::Map<String, serde_json::Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut access: A,
    ) -> Result<Self::Value, A::Error> {
        let mut map = serde_json::Map::new();
        while let Some((key, value)) = access.next_entry::<String, serde_json::Value>()? {
            if map.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "duplicate field `{key}`"
                )));
            }
            map.insert(key, value);
        }
        Ok(map)
    }
}

/// What a peff JSON file says it is, read cheaply before it is parsed in full, so that `peff
/// merge` reads the format tag once and says what a file of the wrong kind is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileTag {
    /// The `format` tag (shard files and checkpoints).
    pub format: Option<String>,
    /// `run.command`, when the file records a run.
    pub command: Option<String>,
    /// Whether the file has `rows` and no `format`: a result file.
    pub is_result: bool,
}

impl FileTag {
    /// The tag of a file's text; an error when the text is not a JSON object.
    pub fn of(text: &str) -> anyhow::Result<Self> {
        #[derive(Deserialize)]
        struct Run {
            command: Option<String>,
        }
        #[derive(Deserialize)]
        struct Tag {
            format: Option<String>,
            run: Option<Run>,
            rows: Option<serde::de::IgnoredAny>,
        }
        let tag: Tag = serde_json::from_str(text).context("not a peff JSON file")?;
        Ok(FileTag {
            is_result: tag.format.is_none() && tag.rows.is_some(),
            format: tag.format,
            command: tag.run.and_then(|r| r.command),
        })
    }
}

/// The git commit peff was built from, when known at build time.
pub fn git_commit() -> Option<&'static str> {
    option_env!("PEFF_GIT_COMMIT").filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ranges_partition_the_items() {
        for total in [0u64, 1, 7, 54_264, 1_000_003] {
            for count in [1u64, 2, 7, 13] {
                let mut next = 0;
                for index in 0..count {
                    let r = Shard { index, count }.range(total);
                    assert_eq!(r.start, next);
                    next = r.end;
                }
                assert_eq!(next, total);
            }
        }
        assert!(Shard::parse("7/7").is_err());
        assert!(Shard::parse("a/3").is_err());
        assert!(Shard::parse("0/0").is_err());
        assert_eq!(Shard::parse("2/7").unwrap(), Shard { index: 2, count: 7 });
    }

    #[test]
    fn shards_of_one_run_are_the_same_run() {
        let a = RunRecord {
            command: "exact".to_string(),
            config: 3u32,
            shard: Some(Shard { index: 0, count: 2 }),
        };
        let b = RunRecord {
            shard: Some(Shard { index: 1, count: 2 }),
            ..a.clone()
        };
        assert!(a.same_run(&b));
        assert!(!a.same_run(&RunRecord {
            config: 4,
            ..b.clone()
        }));
        assert!(!a.same_run(&RunRecord {
            command: "sample".to_string(),
            ..b
        }));
    }
}
