//! The Chinese README keeps step with the English one: every command of the English usage
//! table is in the Chinese usage table too.

use std::path::Path;

/// The first code span of each row of the table under `## heading`.
fn usage_commands(readme: &str, heading: &str) -> Vec<String> {
    let section = readme.split(heading).nth(1).unwrap_or_else(|| panic!("no {heading}"));
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|row| row.split('`').nth(1).map(str::to_string))
        .collect()
}

#[test]
fn every_usage_command_is_in_the_chinese_readme() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |name: &str| std::fs::read_to_string(root.join(name)).unwrap();
    let english = usage_commands(&read("README.md"), "\n## Usage\n");
    let chinese = usage_commands(&read("README.zh-CN.md"), "\n## 用法\n");
    assert!(english.len() >= 15, "{english:?}");
    let missing: Vec<&String> = english.iter().filter(|c| !chinese.contains(c)).collect();
    assert!(missing.is_empty(), "README.zh-CN.md's usage table lacks {missing:?}");
    assert!(read("README.md").contains("(README.zh-CN.md)"), "linked from the README");
}

/// Every relative link of the READMEs and of `docs/` names a file that exists: the pages moved
/// into `docs/` link to each other and back.
#[test]
fn every_relative_link_names_a_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md"), root.join("README.zh-CN.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    let mut broken = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for target in text.split("](").skip(1).filter_map(|rest| rest.split(')').next()) {
            let file = target.split('#').next().unwrap_or_default();
            if file.is_empty() || file.contains("://") {
                continue;
            }
            if !page.parent().unwrap().join(file).exists() {
                broken.push(format!("{}: {target}", page.display()));
            }
        }
    }
    assert!(pages.len() >= 8, "{pages:?}");
    assert!(broken.is_empty(), "links to nothing: {broken:?}");
}
