//! What `peff verify` compares, the same for every kind of result: a rerun's table against
//! the rows a result file records and the CSV beside it (`check_table`), and the file's
//! envelope — its keys and its recomputed `summary` (`check_envelope`). Each experiment's
//! verify step (the `verify` of `cli::EXPERIMENTS`) reruns its configuration and calls
//! these.

use std::path::Path;

use anyhow::{bail, Context};
use serde::Serialize;

/// The keys of a result file ([`crate::record::ResultFile`]); `peff verify` refuses any
/// other, whatever the kind of result.
const RESULT_KEYS: &[&str] = &[
    "peff_version",
    "git_commit",
    "run",
    "threads",
    "merged_from_shards",
    "wall_seconds",
    "pmf_sha256",
    "summary",
    "csv_sha256",
    "rows",
];

/// The checks of a result file's text that are the same for every kind of result: its keys
/// are those of a result file ([`RESULT_KEYS`]; how it ran — version, commit, threads, wall
/// time — is not compared), and its `summary` equals the rerun's (`summary`, `None` for the
/// kinds that write none; a top-level summary key added by a later peff is not asked of an
/// older file), so that neither an added key nor an edited summary passes.
pub(crate) fn check_envelope(
    path: &Path,
    text: &str,
    summary: Option<&serde_json::Value>,
) -> anyhow::Result<()> {
    let shown = path.display();
    let value: serde_json::Value = serde_json::from_str(text)
        .with_context(|| format!("'{shown}' is not a peff JSON result"))?;
    let object = value
        .as_object()
        .with_context(|| format!("'{shown}' is not a peff JSON result (not an object)"))?;
    if let Some(key) = object.keys().find(|k| !RESULT_KEYS.contains(&k.as_str())) {
        bail!(
            "verification failed: '{shown}' has the key {}, which no peff result has",
            super::errors::quote(key)
        );
    }
    match (object.get("summary"), summary) {
        (None, None) => {}
        (Some(_), None) => bail!(
            "verification failed: '{shown}' has a `summary`, which this kind of result never has"
        ),
        (None, Some(_)) => {
            bail!("verification failed: '{shown}' has no `summary`; the rerun gives one")
        }
        (Some(recorded), Some(rerun)) => {
            // A summary key added since the file was written is not asked of it.
            let mut rerun = rerun.clone();
            if let (Some(rerun), Some(recorded)) = (rerun.as_object_mut(), recorded.as_object()) {
                rerun.retain(|key, _| recorded.contains_key(key));
            }
            if let Some((field, got, want)) =
                crate::record::first_difference(recorded, &rerun, "summary")
            {
                bail!("verification failed: '{shown}': `{field}` is {got}, the rerun gives {want}");
            }
        }
    }
    Ok(())
}

/// Compares the rows a rerun gives (`rerun`) with those the result file `path` (its text
/// `text`) records, as JSON, so that a key added to a row fails as a changed value does; and,
/// when the CSV beside it (`<stem>.csv`) exists, that file with the rerun's CSV, byte for
/// byte. On success returns what was checked, for the message (`its 12 rows and 'x.csv'`);
/// otherwise a one-line error naming the first row that differs.
pub(crate) fn check_table<R: Serialize>(
    path: &Path,
    text: &str,
    rerun: &[R],
) -> anyhow::Result<String> {
    let shown = path.display();
    #[derive(serde::Deserialize)]
    struct Rows {
        rows: Vec<serde_json::Value>,
    }
    let recorded = serde_json::from_str::<Rows>(text)
        .with_context(|| format!("'{shown}': `rows`"))?
        .rows;
    let rerun_values = rerun
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(i) =
        (0..recorded.len().max(rerun.len())).find(|&i| recorded.get(i) != rerun_values.get(i))
    {
        let counts = if recorded.len() == rerun.len() {
            String::new()
        } else {
            format!(
                " (the file records {} rows, the rerun gives {})",
                recorded.len(),
                rerun.len()
            )
        };
        let what = row_difference(recorded.get(i), rerun_values.get(i));
        bail!(
            "verification failed: '{shown}': row {} differs from the rerun's{counts}{what}",
            i + 1
        );
    }
    let csv_path = path.with_extension("csv");
    let mut checked = format!("its {} rows", rerun.len());
    if csv_path.exists() {
        let recorded_csv = crate::input::read_capped_text(
            &csv_path,
            crate::input::MAX_RESULT_BYTES,
            "result file",
        )?;
        if recorded_csv != crate::export::to_csv(rerun)? {
            bail!(
                "verification failed: '{}' differs from the rerun's table (the JSON's rows match)",
                csv_path.display()
            );
        }
        checked += &format!(" and '{}'", csv_path.display());
    }
    Ok(checked)
}

/// The first field in which row `recorded` differs from the rerun's `rerun`, as the tail of a
/// message (``": `accuracy_mean` is 0.5, the rerun gives 0.6"``; empty where none is found).
pub(crate) fn row_difference(
    recorded: Option<&serde_json::Value>,
    rerun: Option<&serde_json::Value>,
) -> String {
    match (recorded, rerun) {
        (Some(a), Some(b)) => crate::record::first_difference(a, b, "")
            .map(|(field, got, want)| {
                format!(
                    ": `{}` is {got}, the rerun gives {want}",
                    field.trim_start_matches('.')
                )
            })
            .unwrap_or_default(),
        _ => String::new(),
    }
}
