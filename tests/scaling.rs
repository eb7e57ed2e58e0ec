//! `peff scaling`: the grid's table, its bounds, and its refusals.

use std::process::Command;

fn peff(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_peff"))
        .args(args)
        .output()
        .expect("peff runs")
}

#[test]
fn scaling_table_has_every_grid_point_within_its_bounds() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let run = peff(&[
        "scaling", "--n", "1..3", "--steps", "50", "--k", "16,9", "--out", out, "--name", "s",
        "--format", "csv",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut reader = csv::Reader::from_path(tmp.path().join("s.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header.join(","),
        "input_dim,n,task,method,k,sparsity,entropy_bits,mi_bits,ceiling_bits,p_eff,distinct_masks,diverged,tie_mass,data_entropy_bits"
    );
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut ns = std::collections::BTreeSet::new();
    for record in reader.records() {
        let r = record.unwrap();
        let num = |name: &str| r[col(name)].parse::<f64>().unwrap();
        ns.insert(r[col("n")].to_string());
        // A single uniform point of V = 16 has H(D) = 4 bits.
        if &r[col("n")] == "1" {
            assert!((num("data_entropy_bits") - 4.0).abs() < 1e-12);
        }
        let bound = num("data_entropy_bits").min(num("ceiling_bits"));
        assert!(num("mi_bits") <= bound + 1e-9, "{r:?}");
    }
    assert_eq!(ns.into_iter().collect::<Vec<_>>(), ["1", "2", "3"]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("s.json")).unwrap()).unwrap();
    assert_eq!(json["run"]["command"], "scaling");
    assert_eq!(json["run"]["config"]["points"].as_array().unwrap().len(), 3);
}

#[test]
fn scaling_refuses_bad_ranges_and_oversized_grids_before_any_work() {
    for (args, phrase) in [
        (vec!["--n", "10..1"], "`--n`"),
        (vec!["--n", "1..100"], "`--n`"),
        (vec!["--input-dim", "x"], "`--input-dim`"),
        (
            vec!["--n", "1..10", "--max-datasets", "1000"],
            "with N ≥ 5312",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let mut all = vec!["scaling", "--out", tmp.path().to_str().unwrap()];
        all.extend(args.iter());
        let run = peff(&all);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success());
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(phrase), "{args:?}: {stderr}");
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "wrote files"
        );
    }
}
