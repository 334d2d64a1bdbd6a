//! Architecture invariants of fms-core, checked from its sources:
//!
//! - it does no I/O: its `[dependencies]` hold no async runtime, database driver or HTTP
//!   crate, only the small set of pure crates below;
//! - its top-level modules are layered: no two of them import each other, directly or through
//!   others (`crate::<module>` paths in `src/**/*.rs`, tests and `conformance` aside).

#![allow(clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const ALLOWED: &[&str] = &[
    "async-trait",
    "chrono",
    "chrono-tz",
    "futures", // optional, only for the `conformance` feature's concurrent cases
    "serde",
    "serde_json",
    "thiserror",
    "uuid",
];

const FORBIDDEN_PREFIXES: &[&str] = &[
    "tokio",
    "async-std",
    "smol",
    "rusqlite",
    "sqlx",
    "libsqlite3",
    "postgres",
    "reqwest",
    "hyper",
    "axum",
    "tower",
    "http",
    "ureq",
    "isahc",
    "surf",
    "mio",
];

fn dependencies() -> BTreeSet<String> {
    let manifest = include_str!("../Cargo.toml");
    let doc: toml::Table = manifest.parse().expect("fms-core/Cargo.toml parses");
    let deps = doc
        .get("dependencies")
        .and_then(|d| d.as_table())
        .expect("a [dependencies] table");
    deps.keys().cloned().collect()
}

#[test]
fn fms_core_depends_on_no_runtime_driver_or_http_crate() {
    let deps = dependencies();
    for dep in &deps {
        assert!(
            !FORBIDDEN_PREFIXES.iter().any(|p| dep.starts_with(p)),
            "fms-core must not depend on `{dep}`: it does no I/O (see ARCHITECTURE.md)"
        );
        assert!(
            ALLOWED.contains(&dep.as_str()),
            "fms-core gained the dependency `{dep}`; it may only use {ALLOWED:?}"
        );
    }
    assert!(deps.contains("serde") && deps.contains("async-trait"));
}

#[test]
fn futures_is_only_for_the_conformance_feature() {
    let manifest = include_str!("../Cargo.toml");
    let doc: toml::Table = manifest.parse().expect("parses");
    let futures = &doc["dependencies"]["futures"];
    assert_eq!(
        futures.get("optional").and_then(|o| o.as_bool()),
        Some(true)
    );
}

/// Edges of the module graph that still close a cycle, each to be deleted with the change that
/// removes it. Nothing else may.
const KNOWN_CYCLE_EDGES: &[(&str, &str)] = &[];

/// Modules left out of the graph: test support, compiled only for tests and adapters' tests.
const NOT_LAYERED: &[&str] = &["conformance"];

/// Module -> the modules it uses -> one file where it does.
type Graph = BTreeMap<String, BTreeMap<String, PathBuf>>;

#[test]
fn top_level_modules_import_each_other_in_no_cycle() {
    let mut graph = module_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    for (from, to) in KNOWN_CYCLE_EDGES {
        let edges = graph.get_mut(*from);
        assert!(
            edges.and_then(|e| e.remove(*to)).is_some(),
            "the allowed edge {from} -> {to} is gone: delete it from KNOWN_CYCLE_EDGES"
        );
    }
    if let Some(cycle) = find_cycle(&graph) {
        let steps: Vec<String> = cycle
            .windows(2)
            .map(|w| format!("  {} -> {} ({})", w[0], w[1], graph[&w[0]][&w[1]].display()))
            .collect();
        panic!(
            "fms-core's modules import each other in a cycle: {}\n{}\n\
             a module may only use modules below it (see ARCHITECTURE.md)",
            cycle.join(" -> "),
            steps.join("\n")
        );
    }
}

#[test]
fn the_module_graph_sees_uses_and_the_cycle_finder_finds_cycles() {
    let graph = module_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph["service"].contains_key("rules"), "{graph:?}");
    assert!(graph["rules"].contains_key("ticket"), "{graph:?}");
    assert!(!graph.contains_key("conformance"));

    let edge = |from: &str, to: &str| (from.to_owned(), [(to.to_owned(), PathBuf::new())].into());
    let mut graph: Graph = [edge("a", "b"), edge("b", "c"), edge("c", "d")].into();
    assert_eq!(find_cycle(&graph), None);
    graph.insert("d".to_owned(), [("b".to_owned(), PathBuf::new())].into());
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["b".into(), "c".into(), "d".into(), "b".into()])
    );
}

#[test]
fn the_use_scanner_skips_comments_strings_and_test_items() {
    let src = r#"
        use crate::a::X;
        use crate::{b::Y, c, self as me};
        // use crate::commented;
        /* crate::blocked */
        const S: &str = "crate::quoted";
        const R: &str = r"crate::raw";
        fn f<'a>(x: &'a str) -> char { let _ = crate::d::f(x); 'c' }
        #[cfg(test)]
        mod tests { use crate::tested; }
        #[cfg(test)]
        use crate::test_only;
    "#;
    assert_eq!(
        used_modules(src),
        ["a", "b", "c", "d", "self"].map(String::from).into()
    );
}

/// The graph between `src`'s top-level modules (a submodule counts as its top-level module).
fn module_graph(src: &Path) -> Graph {
    let mut graph = Graph::new();
    let modules: BTreeSet<String> = fs::read_dir(src)
        .expect("src/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .filter_map(|p| module_name(&p))
        .filter(|m| m != "lib" && m != "tests" && !m.ends_with("_tests"))
        .filter(|m| !NOT_LAYERED.contains(&m.as_str()))
        .collect();
    for module in &modules {
        let mut files = Vec::new();
        let file = src.join(format!("{module}.rs"));
        if file.is_file() {
            files.push(file);
        }
        rust_files(&src.join(module), &mut files);
        let uses = graph.entry(module.clone()).or_default();
        for file in files {
            let text = fs::read_to_string(&file).expect("a readable source file");
            for used in used_modules(&text) {
                if &used != module && modules.contains(&used) {
                    let relative = file.strip_prefix(src).unwrap_or(&file).to_path_buf();
                    uses.entry(used).or_insert(relative);
                }
            }
        }
    }
    graph
}

/// `foo.rs` or `foo/` -> `foo`.
fn module_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    match name.strip_suffix(".rs") {
        Some(stem) => Some(stem.to_owned()),
        None => path.is_dir().then(|| name.to_owned()),
    }
}

/// The `.rs` files under `dir`, test files and `tests/` directories aside.
fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if name != "tests" {
                rust_files(&path, files);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" && !name.ends_with("_tests.rs") {
            files.push(path);
        }
    }
}

/// The modules `src` names as `crate::<module>` (also inside `use crate::{...}`), outside
/// comments, string literals and `#[cfg(test)]` items.
fn used_modules(src: &str) -> BTreeSet<String> {
    let code = without_test_items(&without_comments_and_strings(src));
    let mut used = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        match rest.strip_prefix('{') {
            Some(group) => {
                let end = closing(group, '{', '}');
                for item in split_top_level(&group[..end]) {
                    used.insert(leading_ident(item));
                }
            }
            None => {
                used.insert(leading_ident(rest));
            }
        }
    }
    used.retain(|m| !m.is_empty());
    used
}

fn leading_ident(s: &str) -> String {
    s.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The items of a `{...}` group's inside, split at its top-level commas.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut items, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&s[start..]);
    items
}

/// The index in `s` of the `close` matching an `open` just before `s` (or `s.len()`).
fn closing(s: &str, open: char, close: char) -> usize {
    let mut depth = 1usize;
    for (i, c) in s.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return i;
            }
        }
    }
    s.len()
}

/// `src` with every `#[cfg(test)]` item (up to its `;` or its closing brace) removed.
fn without_test_items(src: &str) -> String {
    const ATTRIBUTE: &str = "#[cfg(test)]";
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    while let Some(at) = rest.find(ATTRIBUTE) {
        out.push_str(&rest[..at]);
        rest = &rest[at + ATTRIBUTE.len()..];
        // Further attributes, then the item itself.
        loop {
            let trimmed = rest.trim_start();
            match trimmed.strip_prefix("#[") {
                Some(attribute) => rest = &attribute[closing(attribute, '[', ']') + 1..],
                None => break,
            }
        }
        let end = match rest.find([';', '{']) {
            Some(i) if rest[i..].starts_with('{') => i + 1 + closing(&rest[i + 1..], '{', '}'),
            Some(i) => i,
            None => rest.len(),
        };
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// `src` with comments removed and string and char literals emptied, so that only code
/// remains to search.
fn without_comments_and_strings(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < chars.len() {
        let (c, next) = (chars[i], chars.get(i + 1).copied());
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if let Some(hashes) = raw_string_start(&chars[i..]) {
            i += hashes + 2;
            let end: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            while i < chars.len() && !chars[i..].starts_with(&end) {
                i += 1;
            }
            i += end.len();
            out.push_str("\"\"");
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let literal_end = match next {
                Some('\\') => chars[i + 3..]
                    .iter()
                    .position(|&c| c == '\'')
                    .map(|p| i + 4 + p),
                Some(_) if chars.get(i + 2) == Some(&'\'') => Some(i + 3),
                _ => None,
            };
            match literal_end {
                Some(end) => {
                    i = end;
                    out.push_str("' '");
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// For `r"`, `r#"`, `r##"`...: the number of `#`.
fn raw_string_start(chars: &[char]) -> Option<usize> {
    let rest = chars.strip_prefix(&['r'])?;
    let hashes = rest.iter().take_while(|&&c| c == '#').count();
    (rest.get(hashes) == Some(&'"')).then_some(hashes)
}

/// A cycle in `graph` as its path (`a -> b -> a` is `[a, b, a]`), if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit<'g>(
        node: &'g str,
        graph: &'g Graph,
        path: &mut Vec<&'g str>,
        done: &mut BTreeSet<&'g str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|&n| n == node) {
            let mut cycle: Vec<String> = path[start..].iter().map(|n| (*n).to_owned()).collect();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for next in graph.get(node).into_iter().flat_map(|e| e.keys()) {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}
