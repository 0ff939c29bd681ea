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
