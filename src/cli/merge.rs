//! `peff merge`: the shard files of `--shard` runs into the table of the unsharded run.
//!
//! Every file is read once (at most [`MAX_SHARD_BYTES`](crate::input::MAX_SHARD_BYTES)), its
//! `format` tag read ([`FileTag`]), and the set handed to the experiment that wrote it: the
//! toy experiment (`exact`, `sample`), `memorize`, `noise-corr` or `scaling`. A file of another kind (a
//! result file, another experiment's shard) is refused with one line saying what it is.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::bail;
use clap::Args;

use super::args::OutputArgs;
use super::common::ShardInput;
use super::ShardKind;
use crate::record::FileTag;

/// Flags of `peff merge`.
#[derive(Debug, Args, Clone)]
pub struct MergeArgs {
    /// Shard files written by the `--shard i/N` runs of one run.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Where the merged result goes.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The shard files of the format a tag names, from [`super::EXPERIMENTS`].
fn kind_of(tag: &FileTag) -> Option<&'static ShardKind> {
    super::shards_of_format(tag.format.as_deref()?)
}

/// What a file is, in words, from its tag.
fn describe(tag: Option<&FileTag>) -> String {
    let Some(tag) = tag else {
        return "is not a peff JSON file".to_string();
    };
    let command = tag
        .command
        .as_deref()
        .map_or(String::new(), |c| format!(" of `peff {c}`"));
    match (kind_of(tag), &tag.format) {
        (Some(kind), _) if kind.doubles_as_checkpoint => {
            format!("is {} (shard or checkpoint){command}", kind.what)
        }
        (Some(kind), _) => format!("is {}", kind.what),
        (None, Some(format)) if format.contains("checkpoint") => {
            format!("is a checkpoint ({format}){command}, not a shard file: rerun its command to finish it")
        }
        (None, Some(format)) => format!("has format '{format}', which this peff does not read"),
        (None, None) if tag.is_result => format!("is a result file{command}, not a shard file"),
        (None, None) => "is not a peff shard file (it has no `format` tag)".to_string(),
    }
}

/// One file given to `peff merge`: read, and its tag (`None`: not a JSON object).
struct Input<'a> {
    file: ShardInput<'a>,
    tag: Option<FileTag>,
}

/// `peff merge`: shards of one run into the table the unsharded run produces.
pub fn run(args: &MergeArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let inputs = args
        .files
        .iter()
        .map(|path| {
            let text =
                crate::input::read_capped_text(path, crate::input::MAX_SHARD_BYTES, "shard file")?;
            let tag = FileTag::of(&text).ok();
            Ok(Input {
                file: ShardInput { path, text },
                tag,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // The first file with a known format tag says which experiment the set belongs to.
    let Some((first, kind)) = inputs
        .iter()
        .find_map(|i| Some((i, kind_of(i.tag.as_ref()?)?)))
    else {
        let input = &inputs[0];
        bail!(
            "'{}' {}; `peff merge` takes the shard files of `--shard i/N` runs",
            input.file.path.display(),
            describe(input.tag.as_ref())
        );
    };
    let run_of = |text: &str| -> Option<(serde_json::Value, serde_json::Value)> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let run = crate::record::current_spelling(value.get("run")?);
        Some((run.get("command")?.clone(), run.get("config")?.clone()))
    };
    let first_run = run_of(&first.file.text);
    let first_path = first.file.path;
    let mut skip = Vec::new();
    let mut notes = Vec::new();
    for input in inputs.iter() {
        if let Some(tag) = &input.tag {
            let other_kind =
                tag.format.is_some() && !kind_of(tag).is_some_and(|k| std::ptr::eq(k, kind));
            let is_result = tag.format.is_none() && tag.is_result;
            // `peff merge shards/*.json` run again: the first merge's own result is among
            // the files; it is the same run's result, not a shard, and is left out.
            if is_result && first_run.is_some() && run_of(&input.file.text) == first_run {
                notes.push(format!(
                    "note: skipping '{}': it is the merged result of these shards, not a shard file",
                    input.file.path.display()
                ));
                skip.push(true);
                continue;
            }
            if other_kind || is_result {
                bail!(
                    "'{}' {}, but '{}' is {}: merge the shard files of one run",
                    input.file.path.display(),
                    describe(Some(tag)),
                    first_path.display(),
                    kind.what
                );
            }
        }
        skip.push(false);
    }
    for note in notes {
        eprintln!("{note}");
    }
    let inputs: Vec<ShardInput<'_>> = inputs
        .into_iter()
        .zip(skip)
        .filter_map(|(input, skip)| (!skip).then_some(input.file))
        .collect();
    // Without `--name`, the shards' own stem (`<stem>.shard-<i>-of-<N>.json`, as `--shard`
    // writes them under `--name`) names the result, so that merging the shards of a named run
    // writes that run's result and not the command's default one.
    let mut output = args.output.clone();
    if output.name.is_none() {
        output.name = shard_stem(inputs.iter().map(|i| i.path));
    }
    let output = &output;
    (kind.merge)(&inputs, output, started)
}

/// The common stem of shard file names `<stem>.shard-<i>-of-<N>.json`; `None` when some name
/// has another form or the stems differ.
fn shard_stem<'a>(paths: impl Iterator<Item = &'a Path>) -> Option<String> {
    let mut stem: Option<String> = None;
    for path in paths {
        let name = path.file_name()?.to_str()?;
        let (this, rest) = name.rsplit_once(".shard-")?;
        let (index, count) = rest.strip_suffix(".json")?.split_once("-of-")?;
        if this.is_empty()
            || index.parse::<u64>().is_err()
            || count.parse::<u64>().is_err()
            || stem.as_deref().is_some_and(|s| s != this)
        {
            return None;
        }
        stem = Some(this.to_string());
    }
    stem
}
