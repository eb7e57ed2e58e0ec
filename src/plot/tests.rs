//! Tests of the figures and the house style.

use super::style::*;
use super::*;

/// log2 C(p, k) by summing logs (exact enough for the test data).
fn log2_binom(p: usize, k: usize) -> f64 {
    (0..k)
        .map(|i| ((p - i) as f64 / (i + 1) as f64).log2())
        .sum()
}

/// Synthetic Figure-3 data shaped like the paper's: p = 21, k = 1..=20, bell-shaped MI below
/// the ceiling, SNIP/GraSP jagged.
fn figure3_panels() -> Vec<MiPanel> {
    let methods = [
        ("magnitude", 0.55),
        ("imp", 0.5),
        ("snip", 0.3),
        ("grasp", 0.25),
        ("random", 0.0),
    ];
    ["regression (MSE)", "classification (cross-entropy)"]
        .iter()
        .enumerate()
        .map(|(t, title)| {
            let mut points = vec![];
            for (m, (name, scale)) in methods.iter().enumerate() {
                for k in 1..=20 {
                    let ceil = log2_binom(21, k);
                    let jag = if m == 2 || m == 3 {
                        0.6 * ((k * (m + t + 3)) % 5) as f64
                    } else {
                        0.0
                    };
                    let mi = (scale * (1.0 - 0.1 * t as f64) * ceil - jag).max(0.0);
                    points.push(MiPoint {
                        method: (*name).into(),
                        k,
                        p: 21,
                        mi_bits: mi,
                        ceiling_bits: ceil,
                    });
                }
            }
            MiPanel {
                title: (*title).into(),
                points,
            }
        })
        .collect()
}

fn convergence_points() -> Vec<ConvergencePoint> {
    let estimators = [
        ("plugin", -1.6),
        ("miller_madow", -0.9),
        ("chao_shen", 0.2),
        ("nsb", 0.05),
        ("grassberger", -0.4),
    ];
    let mut out = vec![];
    for (method, exact) in [("magnitude", 9.3), ("snip", 4.1)] {
        for k in [5, 10] {
            let exact = exact + k as f64 * 0.1;
            for (e, bias) in estimators {
                for samples in [1000u64, 2000, 4000, 8000, 16000, 32000] {
                    let shrink = (1000.0 / samples as f64).sqrt();
                    let est = exact + bias * shrink;
                    let half = 0.5 * shrink;
                    out.push(ConvergencePoint {
                        method: method.into(),
                        k,
                        estimator: e.into(),
                        samples,
                        estimate_bits: est,
                        ci_low_bits: est - half,
                        ci_high_bits: est + 0.8 * half,
                        exact_bits: exact,
                    });
                }
            }
        }
    }
    out
}

fn figure1_series() -> Vec<Series> {
    ["sparsity 0", "sparsity 0.5", "sparsity 0.9"]
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let x: Vec<f64> = (0..=40).map(|e| e as f64 * 25.0).collect();
            let mean = x
                .iter()
                .map(|&t| (0.9 - 0.25 * i as f64) * (1.0 - (-t / 200.0).exp()))
                .collect();
            let se = x
                .iter()
                .map(|&t| 0.02 + 0.01 * (t / 300.0).sin().abs())
                .collect();
            Series {
                label: (*label).into(),
                x,
                mean,
                se,
            }
        })
        .collect()
}

fn assert_well_formed(svg: &str) {
    assert!(
        svg.starts_with("<svg"),
        "does not start with <svg: {}",
        &svg[..svg.len().min(80)]
    );
    assert!(
        svg.trim_end().ends_with("</svg>"),
        "does not end with </svg>"
    );
    assert_eq!(svg.matches("<svg").count(), 1);
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
}

/// Whether the SVG has a `<text>` element with exactly this (escaped) content; plotters-svg
/// writes the content on its own line.
fn has_text(svg: &str, text: &str) -> bool {
    svg.contains(&format!(">\n{text}\n</text>"))
}

/// Writes an example figure for eyeballing into the directory named by the environment
/// variable `PEFF_PLOT_EXAMPLES`, if set (off by default so `cargo test` leaves no files).
/// Example: `PEFF_PLOT_EXAMPLES=out cargo test plot::`, then `rsvg-convert out/figure3.svg`.
fn write_example(name: &str, svg: &str) {
    if let Some(dir) = std::env::var_os("PEFF_PLOT_EXAMPLES") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("create the examples directory");
        std::fs::write(dir.join(name), svg).expect("write an example svg");
    }
}

/// Figure 3 is a well-formed SVG with both panel titles, every method in the legend, the
/// axis labels, and writes the example `figure3.svg`.
#[test]
fn figure3_is_well_formed_with_titles_and_legend() {
    let svg = figure3_svg(&figure3_panels()).expect("figure 3");
    write_example("figure3.svg", &svg);
    assert_well_formed(&svg);
    for text in [
        "regression (MSE)",
        "classification (cross-entropy)",
        "magnitude",
        "imp",
        "snip",
        "grasp",
        "random",
        "sparsity (1 − k/p)",
        "I(m; D | init) (bits)",
    ] {
        assert!(has_text(&svg, text), "missing text '{text}'");
    }
    assert!(svg.contains(r#"width="1000""#));
}

/// The ceiling log2 C(p, k) is drawn: a legend entry, and black dashes (many short black
/// segments from DashedLineSeries) in each panel.
#[test]
fn figure3_draws_the_dashed_ceiling() {
    let svg = figure3_svg(&figure3_panels()).expect("figure 3");
    assert!(has_text(&svg, "ceiling log₂ C(p, k)"));
    let black_segments = svg
        .lines()
        .filter(|l| l.starts_with("<polyline") && l.contains(r##"stroke="#000000""##))
        .count();
    assert!(black_segments > 40, "only {black_segments} black segments");
}

/// The same input gives byte-identical output, for every figure (no timestamps, no hash-map
/// order), and input order of points does not matter for figure 3.
#[test]
fn output_is_deterministic() {
    let panels = figure3_panels();
    assert_eq!(figure3_svg(&panels).unwrap(), figure3_svg(&panels).unwrap());
    let mut reversed = panels.clone();
    for p in &mut reversed {
        p.points.reverse();
    }
    assert_eq!(
        figure3_svg(&panels).unwrap(),
        figure3_svg(&reversed).unwrap()
    );

    let pts = convergence_points();
    let mut rev = pts.clone();
    rev.reverse();
    assert_eq!(
        convergence_svg(&pts).unwrap(),
        convergence_svg(&rev).unwrap()
    );

    let s = figure1_series();
    assert_eq!(
        curves_svg("t", "x", "y", &s).unwrap(),
        curves_svg("t", "x", "y", &s).unwrap()
    );
}

/// A NaN or infinite value is an error naming the field and the point, not a panic.
#[test]
fn non_finite_values_are_errors_naming_the_point() {
    let mut panels = figure3_panels();
    panels[1].points[7].mi_bits = f64::NAN;
    let err = figure3_svg(&panels).unwrap_err();
    assert!(
        matches!(
            err,
            PlotError::NonFinite {
                field: "mi_bits",
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("mi_bits = NaN") && msg.contains("k = 8") && msg.contains("classification"),
        "{msg}"
    );
    assert!(!msg.contains('\n'));

    let mut pts = convergence_points();
    pts[3].ci_high_bits = f64::INFINITY;
    let msg = convergence_svg(&pts).unwrap_err().to_string();
    assert!(
        msg.contains("ci_high_bits = inf") && msg.contains("estimator 'plugin'"),
        "{msg}"
    );

    let mut s = figure1_series();
    s[2].se[5] = f64::NAN;
    let msg = curves_svg("t", "x", "y", &s).unwrap_err().to_string();
    assert!(
        msg.contains("se = NaN in point 5 of series 'sparsity 0.9'"),
        "{msg}"
    );
}

/// Empty input is `NoData`; an empty panel or series is `Empty` naming it.
#[test]
fn empty_input_is_no_data() {
    assert!(matches!(figure3_svg(&[]), Err(PlotError::NoData)));
    assert!(matches!(convergence_svg(&[]), Err(PlotError::NoData)));
    assert!(matches!(
        curves_svg("t", "x", "y", &[]),
        Err(PlotError::NoData)
    ));
    let panel = MiPanel {
        title: "classification".into(),
        points: vec![],
    };
    let err = figure3_svg(&[panel]).unwrap_err();
    assert_eq!(err.to_string(), "nothing to plot in panel 'classification'");
    let s = Series {
        label: "a".into(),
        x: vec![],
        mean: vec![],
        se: vec![],
    };
    assert!(matches!(
        curves_svg("t", "x", "y", &[s]),
        Err(PlotError::Empty { .. })
    ));
}

/// Inconsistent inputs are `Invalid` errors: k > p, swapped interval ends, N = 0, series of
/// unequal lengths, negative standard error.
#[test]
fn invalid_inputs_are_errors() {
    let mut panels = figure3_panels();
    panels[0].points[0].k = 22;
    assert!(matches!(
        figure3_svg(&panels),
        Err(PlotError::Invalid { .. })
    ));

    let mut pts = convergence_points();
    pts[0].ci_low_bits = pts[0].ci_high_bits + 1.0;
    assert!(matches!(
        convergence_svg(&pts),
        Err(PlotError::Invalid { .. })
    ));
    let mut pts = convergence_points();
    pts[0].samples = 0;
    assert!(matches!(
        convergence_svg(&pts),
        Err(PlotError::Invalid { .. })
    ));
    let mut pts = convergence_points();
    pts[1].exact_bits += 1.0;
    assert!(matches!(
        convergence_svg(&pts),
        Err(PlotError::Invalid { .. })
    ));

    let mut s = figure1_series();
    s[0].se.pop();
    assert!(matches!(
        curves_svg("t", "x", "y", &s),
        Err(PlotError::Invalid { .. })
    ));
    let mut s = figure1_series();
    s[0].se[0] = -0.1;
    assert!(matches!(
        curves_svg("t", "x", "y", &s),
        Err(PlotError::Invalid { .. })
    ));
}

/// The convergence grid is well formed, has one titled panel per (method, k), every estimator
/// and "exact" in the legend, the N axis label, and writes the example `convergence.svg`.
#[test]
fn convergence_is_well_formed_with_panels_and_legend() {
    let svg = convergence_svg(&convergence_points()).expect("convergence");
    write_example("convergence.svg", &svg);
    assert_well_formed(&svg);
    for text in [
        "magnitude, k = 5",
        "magnitude, k = 10",
        "snip, k = 5",
        "snip, k = 10",
        "plugin",
        "miller_madow",
        "chao_shen",
        "nsb",
        "grassberger",
        "exact",
        "samples N",
    ] {
        assert!(has_text(&svg, text), "missing text '{text}'");
    }
    // The N axis reaches the largest sample size: labelled exactly, or by its round decade tick.
    assert!(
        has_text(&svg, "32k") || has_text(&svg, "30k"),
        "no tick near N = 32k"
    );
}

/// The curves figure is well formed with its title, axis labels and series labels (escaped
/// for XML), and writes the example `curves.svg`.
#[test]
fn curves_is_well_formed_with_title_and_legend() {
    let mut series = figure1_series();
    let svg = curves_svg(
        "Memorisation capacity",
        "epoch",
        "memorised fraction",
        &series,
    )
    .expect("curves");
    write_example("curves.svg", &svg);
    assert_well_formed(&svg);
    for text in [
        "Memorisation capacity",
        "epoch",
        "memorised fraction",
        "sparsity 0",
        "sparsity 0.5",
        "sparsity 0.9",
    ] {
        assert!(has_text(&svg, text), "missing text '{text}'");
    }

    series[0].label = "a<b & c".into();
    let svg = curves_svg("t", "x", "y", &series).expect("curves");
    assert!(has_text(&svg, "a&lt;b &amp; c"));
}

/// A single point, a single sample size and constant values still draw (zero-width ranges are
/// widened instead of failing).
#[test]
fn degenerate_ranges_still_draw() {
    let panel = MiPanel {
        title: "one".into(),
        points: vec![MiPoint {
            method: "m".into(),
            k: 0,
            p: 1,
            mi_bits: 0.0,
            ceiling_bits: 0.0,
        }],
    };
    assert_well_formed(&figure3_svg(&[panel]).unwrap());
    let pt = ConvergencePoint {
        method: "m".into(),
        k: 1,
        estimator: "plugin".into(),
        samples: 1,
        estimate_bits: 2.0,
        ci_low_bits: 2.0,
        ci_high_bits: 2.0,
        exact_bits: 2.0,
    };
    assert_well_formed(&convergence_svg(&[pt]).unwrap());
    let s = Series {
        label: "flat".into(),
        x: vec![3.0],
        mean: vec![1.0],
        se: vec![0.0],
    };
    assert_well_formed(&curves_svg("t", "x", "y", &[s]).unwrap());
}

/// Finite but extreme values (near f64::MAX, subnormal) return an error or a figure, never
/// panic.
#[test]
fn extreme_values_do_not_panic() {
    for v in [f64::MAX, -f64::MAX, 1e300, 5e-324, -1e-300] {
        let mut panels = figure3_panels();
        panels[0].points[3].mi_bits = v;
        let _ = figure3_svg(&panels);
        let mut pts = convergence_points();
        pts[2].estimate_bits = v;
        pts[2].ci_high_bits = v.max(pts[2].ci_high_bits);
        pts[2].ci_low_bits = v.min(pts[2].ci_low_bits);
        let _ = convergence_svg(&pts);
        let mut s = figure1_series();
        s[0].x[0] = v;
        s[1].mean[1] = v;
        let _ = curves_svg("t", "x", "y", &s);
    }
    let mut panels = figure3_panels();
    panels[0].points[3].mi_bits = f64::MAX;
    let msg = figure3_svg(&panels).unwrap_err().to_string();
    assert!(msg.contains("too large"), "{msg}");
}

/// Tick labels: counts in k/M, no "-0", decimals from the tick step.
#[test]
fn count_and_tick_labels() {
    assert_eq!(fmt_count(500.0), "500");
    assert_eq!(fmt_count(1000.0), "1k");
    assert_eq!(fmt_count(2500.0), "2.5k");
    assert_eq!(fmt_count(32000.0), "32k");
    assert_eq!(fmt_count(1e6), "1M");
    let t = Ticks::new(-0.3, 5.6, 6);
    assert_eq!(t.values, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(t.label(4.0), "4");
    let t = Ticks::new(1.8, 5.6, 8);
    assert_eq!(
        t.values.iter().map(|v| t.label(*v)).collect::<Vec<_>>(),
        ["2.0", "2.5", "3.0", "3.5", "4.0", "4.5", "5.0", "5.5"]
    );
    let t = Ticks::new(-0.07, 0.9, 6);
    assert_eq!(t.label(t.values[0]), "0.0");
    assert_eq!(t.label(-1e-17), "0.0");
}

/// Issue 20: a y-axis reaching 10^18 was labelled with 19-digit numbers; large and tiny ticks
/// now read `2e18`, `1.5e-5`.
#[test]
fn huge_and_tiny_tick_labels_are_short() {
    let t = Ticks::new(0.0, 4e18, 5);
    let labels: Vec<String> = t.values.iter().map(|v| t.label(*v)).collect();
    assert!(labels.iter().all(|l| l.len() <= 6), "{labels:?}");
    assert!(labels.contains(&"2e18".to_string()), "{labels:?}");
    let t = Ticks::new(0.0, 3e-5, 6);
    let labels: Vec<String> = t.values.iter().map(|v| t.label(*v)).collect();
    assert!(labels.iter().all(|l| l.len() <= 7), "{labels:?}");
    assert!(labels.iter().any(|l| l.contains("e-5")), "{labels:?}");
}
