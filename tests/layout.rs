//! The house rules a reader of the tree relies on, checked on the source itself: the model
//! imports nothing of the crate but itself and the leaf module `text`; the leaf modules import
//! nothing of the crate; no source imports a frontend; no file is over 600 lines before its
//! unit tests.

use std::path::{Path, PathBuf};

/// The `.rs` files under `dir` (its folders too), relative to the repository root, and their
/// text.
fn sources(dir: &str) -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    walk(&root.join(dir), &mut paths);
    let mut files: Vec<(PathBuf, String)> = paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path.strip_prefix(root).unwrap().to_path_buf(), text)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no sources in {dir}");
    files
}

/// The lines of the files under `dir`, outside their unit tests, that name a module of the
/// crate other than those `allowed` (`crate::text::` and the like).
fn imports_outside(dir: &str, allowed: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in sources(dir) {
        let code = text.lines().take_while(|l| !l.starts_with("#[cfg(test)]"));
        for (n, line) in code.enumerate() {
            let outside = line
                .match_indices("crate::")
                .map(|(at, _)| &line[at + "crate::".len()..])
                .any(|path| !allowed.iter().any(|a| path.starts_with(a)));
            if outside && !line.trim_start().starts_with("//") {
                found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

/// The files of `dir` longer than 600 lines before their `#[cfg(test)]` unit tests.
fn long_files(dir: &str) -> Vec<String> {
    sources(dir)
        .into_iter()
        .filter_map(|(path, text)| {
            let lines = text.lines().take_while(|l| !l.starts_with("#[cfg(test)]")).count();
            (lines > 600).then(|| format!("{} ({lines} lines)", path.display()))
        })
        .collect()
}

#[test]
fn the_model_imports_nothing_of_the_crate_but_text() {
    let mut imports = Vec::new();
    for (path, text) in sources("src/sample") {
        for (n, line) in text.lines().enumerate() {
            let outside = line
                .match_indices("crate::")
                .map(|(at, _)| &line[at + "crate::".len()..])
                .any(|path| !path.starts_with("text::") && !path.starts_with("sample::"));
            if outside {
                imports.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(imports.is_empty(), "the model reaches into the crate:\n{}", imports.join("\n"));
}

#[test]
fn the_leaf_modules_import_nothing_of_the_crate() {
    let text = imports_outside("src/text", &["text::"]);
    assert!(text.is_empty(), "text/ reaches into the crate:\n{}", text.join("\n"));
    let names = imports_outside("src/metric_names", &["metric_names::"]);
    assert!(names.is_empty(), "metric_names/ reaches into the crate:\n{}", names.join("\n"));
}

/// Whether the file at `path` is a module its parent compiles only for tests
/// (`#[cfg(test)] mod name;`).
fn test_only(path: &Path) -> bool {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let name = path.file_stem().unwrap().to_string_lossy();
    let parent =
        std::fs::read_to_string(root.join(path.with_file_name("mod.rs"))).unwrap_or_default();
    parent.contains(&format!("#[cfg(test)]\nmod {name};"))
}

/// Sources fill the model; the frontends and modes render it. A source that imported a
/// frontend would tie every frontend to every other.
#[test]
fn no_source_imports_a_frontend_or_the_command_line() {
    let frontends = ["output", "tui", "serve", "term", "watch", "plan", "cli", "pick", "doctor"];
    let mut found = Vec::new();
    for (path, text) in sources("src/source").into_iter().filter(|(p, _)| !test_only(p)) {
        let code = text.lines().take_while(|l| !l.starts_with("#[cfg(test)]"));
        for (n, line) in code.enumerate() {
            let names_one = frontends.iter().any(|f| line.contains(&format!("crate::{f}::")));
            if names_one && !line.trim_start().starts_with("//") {
                found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "a source imports a frontend:\n{}", found.join("\n"));
}

/// The command line is lowered once, in `cli` and `plan`: a mode reads its plan's plain options,
/// never clap's types.
#[test]
fn only_the_command_line_knows_clap() {
    let mut found = Vec::new();
    for (path, text) in sources("src") {
        let lowering = path.starts_with("src/cli") || path.starts_with("src/plan");
        if !lowering && (text.contains("clap::") || text.contains("use clap")) {
            found.push(path.display().to_string());
        }
        let knows_cli = text.contains("crate::cli::") || text.contains("use crate::cli");
        if !lowering && knows_cli && path != Path::new("src/lib.rs") {
            found.push(format!("{} (crate::cli)", path.display()));
        }
    }
    assert!(found.is_empty(), "outside cli/ and plan/: {found:?}");
}

/// What the terminal can do (a tty, `TERM=dumb`, `NO_COLOR`, the locale) is decided once, in
/// `term::caps`, and reaches the modes through their plan.
#[test]
fn only_term_caps_asks_what_the_terminal_can_do() {
    let asks = ["is_terminal()", "var(\"TERM\")", "\"NO_COLOR\"", "\"LC_CTYPE\""];
    let found: Vec<String> = sources("src")
        .into_iter()
        .filter(|(path, text)| {
            path != Path::new("src/term/caps.rs") && asks.iter().any(|a| text.contains(a))
        })
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(found.is_empty(), "asked outside term/caps.rs: {found:?}");
}

#[test]
fn no_file_is_over_600_lines_before_its_unit_tests() {
    for dir in ["src", "crates/scenario/src", "python/src", "tests/fake-nvml/src"] {
        let long = long_files(dir);
        assert!(long.is_empty(), "over 600 lines before the unit tests: {long:?}");
    }
}
