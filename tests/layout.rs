//! The house rules a reader of the tree relies on, checked on the source itself: the model
//! imports nothing of the crate but the leaf module `text`, and no file of the model or of the
//! scenario crate is over 600 lines before its unit tests.

use std::path::{Path, PathBuf};

/// The `.rs` files of `dir`, relative to the repository root, and their text.
fn sources(dir: &str) -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(root.join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path.strip_prefix(root).unwrap().to_path_buf(), text)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no sources in {dir}");
    files
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
                .any(|(at, _)| !line[at + "crate::".len()..].starts_with("text::"));
            if outside {
                imports.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(imports.is_empty(), "the model reaches into the crate:\n{}", imports.join("\n"));
}

#[test]
fn the_model_and_the_scenario_crate_keep_files_small() {
    for dir in ["src/sample", "crates/scenario/src"] {
        let long = long_files(dir);
        assert!(long.is_empty(), "over 600 lines before the unit tests: {long:?}");
    }
}
