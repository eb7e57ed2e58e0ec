//! `peff merge`: the shard files of `--shard` runs into the table of the unsharded run.
//!
//! Every file is read once (at most [`MAX_SHARD_BYTES`](crate::export::MAX_SHARD_BYTES)), its
//! `format` tag read ([`FileTag`]), and the set handed to the experiment that wrote it: the
//! toy experiment (`exact`, `sample`), `memorize`, `noise-corr` or `scaling`. A file of another kind (a
//! result file, another experiment's shard) is refused with one line saying what it is.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::args::OutputArgs;
use super::common::{finish, Destination};
use crate::experiments::memorize::MemorizeSeeds;
use crate::experiments::noise_corr::NoiseCorrSeeds;
use crate::experiments::scaling::ScalingSlice;
use crate::experiments::toy::partial::{merge, TallySlice};
use crate::export;
use crate::record::{FileTag, ShardFile, ShardPayload, Threads};

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

/// The experiments whose shard files `peff merge` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Toy,
    Memorize,
    NoiseCorr,
    Scaling,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Toy, Kind::Memorize, Kind::NoiseCorr, Kind::Scaling];

    fn format(self) -> &'static str {
        match self {
            Kind::Toy => <TallySlice as ShardPayload<_>>::FORMAT,
            Kind::Memorize => <MemorizeSeeds as ShardPayload<_>>::FORMAT,
            Kind::NoiseCorr => <NoiseCorrSeeds as ShardPayload<_>>::FORMAT,
            Kind::Scaling => <ScalingSlice as ShardPayload<_>>::FORMAT,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::Toy => <TallySlice as ShardPayload<_>>::WHAT,
            Kind::Memorize => <MemorizeSeeds as ShardPayload<_>>::WHAT,
            Kind::NoiseCorr => <NoiseCorrSeeds as ShardPayload<_>>::WHAT,
            Kind::Scaling => <ScalingSlice as ShardPayload<_>>::WHAT,
        }
    }

    fn of(tag: &FileTag) -> Option<Kind> {
        let format = tag.format.as_deref()?;
        Kind::ALL.into_iter().find(|k| k.format() == format)
    }
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
    match (Kind::of(tag), &tag.format) {
        (Some(Kind::Toy), _) => format!("is {} (shard or checkpoint){command}", Kind::Toy.what()),
        (Some(kind), _) => format!("is {}", kind.what()),
        (None, Some(format)) if format.contains("checkpoint") => {
            format!("is a checkpoint ({format}){command}, not a shard file: rerun its command to finish it")
        }
        (None, Some(format)) => format!("has format '{format}', which this peff does not read"),
        (None, None) if tag.is_result => format!("is a result file{command}, not a shard file"),
        (None, None) => "is not a peff shard file (it has no `format` tag)".to_string(),
    }
}

/// One file given to `peff merge`: its path, text and tag (`None`: not a JSON object).
struct Input<'a> {
    path: &'a Path,
    text: String,
    tag: Option<FileTag>,
}

/// Parses every file as a shard file of `C` and `P`.
fn parse_all<C, P>(inputs: &[Input<'_>]) -> anyhow::Result<Vec<ShardFile<C, P>>>
where
    C: Serialize + DeserializeOwned,
    P: ShardPayload<C>,
{
    inputs
        .iter()
        .map(|i| ShardFile::parse(&i.text).with_context(|| format!("'{}'", i.path.display())))
        .collect()
}

/// `peff merge`: shards of one run into the table the unsharded run produces.
pub fn run(args: &MergeArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let inputs = args
        .files
        .iter()
        .map(|path| {
            let text = export::read_capped_text(path, export::MAX_SHARD_BYTES, "shard file")?;
            let tag = FileTag::of(&text).ok();
            Ok(Input { path, text, tag })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // The first file with a known format tag says which experiment the set belongs to.
    let Some((first, kind)) = inputs
        .iter()
        .find_map(|i| Some((i, Kind::of(i.tag.as_ref()?)?)))
    else {
        let input = &inputs[0];
        bail!(
            "'{}' {}; `peff merge` takes the shard files of `--shard i/N` runs",
            input.path.display(),
            describe(input.tag.as_ref())
        );
    };
    let run_of = |text: &str| -> Option<(serde_json::Value, serde_json::Value)> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let run = crate::record::current_spelling(value.get("run")?);
        Some((run.get("command")?.clone(), run.get("config")?.clone()))
    };
    let first_run = run_of(&first.text);
    let first_path = first.path;
    let mut skip = Vec::new();
    let mut notes = Vec::new();
    for input in inputs.iter() {
        if let Some(tag) = &input.tag {
            let other_kind = tag.format.is_some() && Kind::of(tag) != Some(kind);
            let is_result = tag.format.is_none() && tag.is_result;
            // `peff merge shards/*.json` run again: the first merge's own result is among
            // the files; it is the same run's result, not a shard, and is left out.
            if is_result && first_run.is_some() && run_of(&input.text) == first_run {
                notes.push(format!(
                    "note: skipping '{}': it is the merged result of these shards, not a shard file",
                    input.path.display()
                ));
                skip.push(true);
                continue;
            }
            if other_kind || is_result {
                bail!(
                    "'{}' {}, but '{}' is {}: merge the shard files of one run",
                    input.path.display(),
                    describe(Some(tag)),
                    first_path.display(),
                    kind.what()
                );
            }
        }
        skip.push(false);
    }
    for note in notes {
        eprintln!("{note}");
    }
    let inputs: Vec<Input<'_>> = inputs
        .into_iter()
        .zip(skip)
        .filter_map(|(input, skip)| (!skip).then_some(input))
        .collect();
    // Without `--name`, the shards' own stem (`<stem>.shard-<i>-of-<N>.json`, as `--shard`
    // writes them under `--name`) names the result, so that merging the shards of a named run
    // writes that run's result and not the command's default one.
    let mut output = args.output.clone();
    if output.name.is_none() {
        output.name = shard_stem(inputs.iter().map(|i| i.path));
    }
    let output = &output;
    match kind {
        Kind::Toy => merge_toy(parse_all(&inputs)?, output, started),
        Kind::Memorize => super::memorize::write_merged(&parse_all(&inputs)?, output, started),
        Kind::NoiseCorr => super::noise_corr::write_merged(&parse_all(&inputs)?, output, started),
        Kind::Scaling => super::scaling::write_merged(&parse_all(&inputs)?, output, started),
    }
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

/// The toy experiment's shards (`exact`, `sample`) into the whole run's table.
fn merge_toy(
    parts: Vec<crate::experiments::toy::partial::Partial>,
    output: &OutputArgs,
    started: Instant,
) -> anyhow::Result<()> {
    let (whole, tallies) = merge(&parts)?;
    export::check_out_dir(&output.out)?;
    let stem = output
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}", whole.command, whole.config.experiment.task));
    let dest = Destination {
        out: &output.out,
        stem,
        format: output.format,
        force: output.force,
    };
    let [csv_path, json_path] = dest.paths();
    export::check_output_paths(&[
        ("the result file", &csv_path),
        ("the result file", &json_path),
    ])?;
    export::check_overwrite(&json_path, &serde_json::to_value(&whole)?, output.force)?;
    let run = whole.config.for_init(whole.config.inits()[0]);
    let threads = Threads::Merged {
        shards: parts.len() as u64,
    };
    finish(&dest, &whole.config, vec![(run, tallies)], threads, started)
}
