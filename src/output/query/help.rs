//! `--help-query-gpu` (and `--help-query-compute-apps`, …): every property of a query with its
//! other names and what it is, as nvidia-smi lists them, from the field registry.

use super::apps::{APP_FIELDS, REMAPPED_ROW_FIELDS, RETIRED_PAGE_FIELDS};
use super::field::Field;
use super::gpu_fields;

/// Which of nvidia-smi's queries: GPUs, compute apps, retired pages or remapped rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    Gpu,
    ComputeApps,
    RetiredPages,
    RemappedRows,
}

impl QueryKind {
    /// The switch, as nvidia-smi's help names it.
    fn switch(self) -> &'static str {
        match self {
            Self::Gpu => "--query-gpu=",
            Self::ComputeApps => "--query-compute-apps=",
            Self::RetiredPages => "--query-retired-pages=",
            Self::RemappedRows => "--query-remapped-rows=",
        }
    }

    /// Each property's names and description, in the order the help lists them.
    pub(super) fn entries(self) -> Vec<(&'static [&'static str], &'static str)> {
        fn entries<'t, T: 't>(
            table: impl Iterator<Item = &'t Field<T>>,
        ) -> Vec<(&'static [&'static str], &'static str)> {
            table.map(|f| (f.names, f.about)).collect()
        }
        match self {
            Self::Gpu => entries(gpu_fields()),
            Self::ComputeApps => entries(APP_FIELDS.iter()),
            Self::RetiredPages => entries(RETIRED_PAGE_FIELDS.iter()),
            Self::RemappedRows => entries(REMAPPED_ROW_FIELDS.iter()),
        }
    }
}

/// The list `nvidia-smi --help-query-gpu` (or `--help-query-compute-apps`, …) prints: each
/// property with its other names and what it is.
pub fn help(kind: QueryKind) -> String {
    let switch = kind.switch();
    let mut out = format!("List of valid properties to query for the switch \"{switch}\":\n\n");
    for (names, about) in kind.entries() {
        let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        out.push_str(&format!("{}\n{about}\n\n", quoted.join(" or ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_property_is_described_in_the_help() {
        use QueryKind::*;
        for kind in [Gpu, ComputeApps, RetiredPages, RemappedRows] {
            let text = help(kind);
            assert!(!text.contains("\n\n\n"), "a property without a description:\n{text}");
        }
        assert!(help(Gpu).contains("\"name\" or \"gpu_name\"\nThe GPU's product name.\n"));
    }
}
