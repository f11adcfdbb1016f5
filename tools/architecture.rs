//! The shape of src/ as a test (cargo test --test architecture; make test-host runs it): the
//! modules at the top of the crate ("rooms": commands, container, spec, rootfs, sys, ...) must
//! import each other one way, with no circle, and `sys` must import nothing of ours. An edge is
//! any `crate::room` path in a file of another room (a `use` line or a path written inline),
//! test code included: a test that needs a room above its own is a sign the code is in the
//! wrong room.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The rooms that must be leaves: they import nothing of ours.
const LEAVES: &[&str] = &["sys"];

/// Every `from -> to` edge with the places that make it (file:line).
type Graph = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("reading src/").flatten() {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The room of a file: its first component under src/ (`rootfs/idmap.rs` -> rootfs).
fn room_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let room = first.strip_suffix(".rs").unwrap_or(first);
    // The crate roots declare the rooms; they are not rooms themselves.
    (room != "lib" && room != "main").then(|| room.to_string())
}

/// The rooms a line of code names through `crate::`: `crate::a::b`, `crate::{a, b::c}`.
fn rooms_named(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = &rest[..i];
        rest = &rest[i + "crate::".len()..];
        // `pub(crate)` and identifiers ending in "crate" are not paths.
        if before.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '(') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // The first name of each item at the top level of the braces.
            let mut depth = 0;
            let mut item_start = true;
            let mut name = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => name.push(c),
                    _ if item_start && !name.is_empty() => {
                        out.push(std::mem::take(&mut name));
                        item_start = false;
                    }
                    _ => {}
                }
            }
            if !name.is_empty() {
                out.push(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rs_files(src, &mut files);
    files.sort();
    let mut g = Graph::new();
    for f in files {
        let Some(from) = room_of(src, &f) else {
            continue;
        };
        let text = std::fs::read_to_string(&f).expect("reading a source file");
        g.entry(from.clone()).or_default();
        for (n, line) in text.lines().enumerate() {
            for to in rooms_named(line) {
                if to != from {
                    let at = format!("{}:{}", f.strip_prefix(src).unwrap().display(), n + 1);
                    g.entry(from.clone())
                        .or_default()
                        .entry(to)
                        .or_default()
                        .push(at);
                }
            }
        }
    }
    g
}

/// The circles of the graph: its strongly connected components of more than one room
/// (Tarjan's algorithm).
fn circles(g: &Graph) -> Vec<Vec<String>> {
    struct Walk<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, v: &'a str) {
        let i = w.index.len();
        w.index.insert(v, i);
        w.low.insert(v, i);
        w.stack.push(v);
        w.on_stack.insert(v);
        let g = w.g;
        for to in g.get(v).into_iter().flat_map(|m| m.keys()) {
            let to = to.as_str();
            if !w.index.contains_key(to) {
                visit(w, to);
                let l = w.low[to].min(w.low[v]);
                w.low.insert(v, l);
            } else if w.on_stack.contains(to) {
                let l = w.index[to].min(w.low[v]);
                w.low.insert(v, l);
            }
        }
        if w.low[v] == w.index[v] {
            let mut scc = Vec::new();
            while let Some(x) = w.stack.pop() {
                w.on_stack.remove(x);
                scc.push(x.to_string());
                if x == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                w.out.push(scc);
            }
        }
    }
    let mut w = Walk {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !w.index.contains_key(v.as_str()) {
            visit(&mut w, v);
        }
    }
    w.out
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_import_circle_between_modules() {
    let g = graph(&src_dir());
    let found = circles(&g);
    let mut report = String::new();
    for scc in &found {
        report.push_str(&format!("circle among {scc:?}:\n"));
        for from in scc {
            for (to, at) in &g[from] {
                if scc.contains(to) {
                    report.push_str(&format!("  {from} -> {to} ({})\n", at.join(", ")));
                }
            }
        }
    }
    assert!(found.is_empty(), "import circles in src/:\n{report}");
}

#[test]
fn leaf_modules_import_nothing_of_ours() {
    let g = graph(&src_dir());
    for leaf in LEAVES {
        let Some(edges) = g.get(*leaf) else {
            panic!("src/{leaf}: missing");
        };
        assert!(
            edges.is_empty(),
            "src/{leaf} must import nothing of ours, but imports {edges:?}"
        );
    }
}

/// The checker itself: a graph with a circle is reported, one without is not.
#[test]
fn circle_finder_sees_a_circle_and_only_one() {
    let mut g = Graph::new();
    let edge = |g: &mut Graph, a: &str, b: &str| {
        g.entry(a.into()).or_default().insert(b.into(), vec![]);
        g.entry(b.into()).or_default();
    };
    edge(&mut g, "commands", "container");
    edge(&mut g, "container", "spec");
    edge(&mut g, "rootfs", "spec");
    assert!(circles(&g).is_empty());
    edge(&mut g, "spec", "commands");
    assert_eq!(circles(&g), vec![vec!["commands", "container", "spec"]]);
}

#[test]
fn paths_are_read_from_use_lines_and_inline_paths() {
    assert_eq!(
        rooms_named("use crate::{cli::Args, error::{Error, Result}};"),
        ["cli", "error"]
    );
    assert_eq!(
        rooms_named("    let m = crate::cgroups_glue::manager(&c); // crate::x"),
        ["cgroups_glue"]
    );
    assert!(rooms_named("pub(crate) fn f() {}").is_empty());
}
