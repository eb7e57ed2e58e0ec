//! The shape of `src/`: no two files import each other in a circle, and no command of the
//! command line imports another command's file.
//!
//! A file's imports are the module paths it names outside comments and its tests module
//! (`use crate::a::b::{c, d}`, `super::x::f(…)`, `crate::a::B`), each resolved to the deepest
//! file of `src/` that holds it. A module's `pub use self::child::Item` re-exports its own
//! child (a facade) and is no import of it; `mod child;` declares, and is none either.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`["model", "toy", "lanes"]`) → file, for every `.rs` file under `src/`.
fn modules() -> BTreeMap<Vec<String>, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .filter(|f| !f.ends_with("main.rs"))
        .map(|file| {
            let rel = file.strip_prefix(&root).unwrap().with_extension("");
            let mut path: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(path.last().map(String::as_str), Some("mod" | "lib")) {
                path.pop();
            }
            (path, file)
        })
        .collect()
}

/// The text of a file without comments, string literals and its `#[cfg(test)] mod tests`.
fn code(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|line| {
            let line = line.split("//").next().unwrap_or("");
            // Drop string literals (messages name paths such as `crate::…` rarely, but may).
            let mut out = String::new();
            let mut in_string = false;
            for c in line.chars() {
                if c == '"' {
                    in_string = !in_string;
                } else if !in_string {
                    out.push(c);
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path starting `crate::`, `super::` or `self::` in `code`, with `{a, b::c}` groups
/// expanded, as `(path, whether it is a `pub use` re-export)`.
fn paths(code: &str) -> Vec<(Vec<String>, bool)> {
    let bytes: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < bytes.len() {
        let starts = ["crate::", "super::", "self::"]
            .iter()
            .find(|p| bytes[i..].iter().take(p.len()).copied().eq(p.chars()));
        let boundary = i == 0 || !is_ident(bytes[i - 1]) && bytes[i - 1] != ':';
        let Some(_) = starts.filter(|_| boundary) else {
            i += 1;
            continue;
        };
        let before: String = bytes[..i].iter().collect();
        let statement = before.rsplit([';', '}', '{']).next().unwrap_or("");
        let reexport = statement.trim_start().starts_with("pub use");
        // Read `a::b::c` then, if a group follows, its members.
        let mut j = i;
        let mut head = String::new();
        while j < bytes.len() && (is_ident(bytes[j]) || bytes[j] == ':') {
            head.push(bytes[j]);
            j += 1;
        }
        let segments: Vec<String> = head
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if j < bytes.len() && bytes[j] == '{' {
            let mut depth = 0;
            let mut group = String::new();
            while j < bytes.len() {
                match bytes[j] {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                if depth > 0 && !(depth == 1 && bytes[j] == '{') {
                    group.push(bytes[j]);
                }
                j += 1;
            }
            for member in group.split(',') {
                let member = member.split(" as ").next().unwrap_or("").trim();
                let mut path = segments.clone();
                path.extend(
                    member
                        .split("::")
                        .map(|s| s.trim_matches(|c: char| !is_ident(c)))
                        .filter(|s| !s.is_empty() && *s != "self")
                        .map(str::to_string),
                );
                out.push((path, reexport));
            }
        } else {
            out.push((segments, reexport));
        }
        i = j.max(i + 1);
    }
    out
}

/// The file imports of every module: module → the modules it imports.
fn imports() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let modules = modules();
    let resolve = |path: &[String]| -> Option<Vec<String>> {
        (0..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| modules.contains_key(p))
    };
    let mut graph = BTreeMap::new();
    for (module, file) in &modules {
        // `self` of a file is its module; `super` its parent.
        let mut targets = BTreeSet::new();
        for (path, reexport) in paths(&code(file)) {
            let mut base = match path.first().map(String::as_str) {
                Some("crate") => Vec::new(),
                _ => module.clone(),
            };
            let mut rest = &path[..];
            if rest.first().is_some_and(|s| s == "crate") {
                rest = &rest[1..];
            }
            while let Some(first) = rest.first() {
                match first.as_str() {
                    "super" => {
                        base.pop();
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
            base.extend(rest.iter().cloned());
            let Some(target) = resolve(&base) else {
                continue;
            };
            let facade = reexport && target.starts_with(module) && target != *module;
            if target != *module && !facade {
                targets.insert(target);
            }
        }
        graph.insert(module.clone(), targets);
    }
    graph
}

/// The modules on some circle of imports, one group per circle (Tarjan's strongly connected
/// components of more than one module).
fn circles(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on_stack: BTreeSet<&'a Vec<String>>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Vec<String>) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in &s.graph[v] {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack.remove(w);
                group.push(w.join("::"));
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                s.found.push(group);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v) {
            visit(&mut state, v);
        }
    }
    state.found
}

#[test]
fn no_two_files_of_src_import_each_other_in_a_circle() {
    let graph = imports();
    assert!(graph.len() > 100, "{} modules found", graph.len());
    assert!(
        graph.values().map(BTreeSet::len).sum::<usize>() > 200,
        "too few imports found: the reader is broken"
    );
    assert_eq!(circles(&graph), Vec::<Vec<String>>::new());
}

/// The detector finds a circle when there is one (two files importing each other).
#[test]
fn a_circle_of_imports_is_found() {
    let graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = [
        (vec!["a".to_string()], [vec!["b".to_string()]].into()),
        (vec!["b".to_string()], [vec!["a".to_string()]].into()),
        (vec!["c".to_string()], [vec!["a".to_string()]].into()),
    ]
    .into();
    assert_eq!(
        circles(&graph),
        vec![vec!["b".to_string(), "a".to_string()]]
    );
    let parsed =
        paths("use super::{lanes::Lane, Dims};\npub use self::core::X;\nf(crate::a::b(1));");
    assert_eq!(
        parsed,
        vec![
            (vec!["super".into(), "lanes".into(), "Lane".into()], false),
            (vec!["super".into(), "Dims".into()], false),
            (vec!["self".into(), "core".into(), "X".into()], true),
            (vec!["crate".into(), "a".into(), "b".into()], false),
        ]
    );
}

/// What `peff merge` and `peff verify` need of each experiment is a row of `cli::EXPERIMENTS`;
/// the toy driver, the comparison and the run driver are shared files; so no command's file
/// imports another command's.
#[test]
fn no_command_imports_another_command() {
    let shared = [
        "args", "common", "compare", "drive", "errors", "signals", "toy",
    ];
    let graph = imports();
    let cli = |m: &Vec<String>| m.len() == 2 && m[0] == "cli";
    let command = |m: &Vec<String>| cli(m) && !shared.contains(&m[1].as_str());
    let mut offending = Vec::new();
    for (module, targets) in &graph {
        if !command(module) {
            continue;
        }
        for target in targets.iter().filter(|t| command(t)) {
            offending.push(format!("{} → {}", module.join("::"), target.join("::")));
        }
    }
    assert_eq!(offending, Vec::<String>::new());
    assert!(graph.keys().filter(|m| command(m)).count() >= 12);
}
