//! The values some flags take (`--by user`, `--color never`, …), for clap: the types are the
//! modes' own, and only this file tells clap their names and what each means, so no module
//! outside the command line knows clap.

use clap::builder::PossibleValue;
use clap::ValueEnum;

use crate::config::ThemeName;
use crate::output::owners::OwnerKey;
use crate::pick::select::PickFormat;
use crate::record::summary::ReportBy;
use crate::sample::Vendor;
use crate::term::caps::ColorChoice;

/// `impl ValueEnum` for a type of the modes: each variant, its name on the command line, and
/// (where given) what it means in `--help`.
macro_rules! values {
    ($ty:ident { $($variant:ident => $name:literal $(($help:literal))?),* $(,)? }) => {
        impl ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                &[$($ty::$variant),*]
            }

            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(match self {
                    $($ty::$variant => PossibleValue::new($name)$(.help($help))?),*
                })
            }
        }
    };
}

values!(OwnerKey { User => "user", Container => "container", Pod => "pod", Job => "job" });

values!(ReportBy {
    Gpu => "gpu",
    User => "user",
    Container => "container",
    Pod => "pod",
    Job => "job",
    Process => "process",
});

values!(ThemeName { Dark => "dark", Light => "light", Mono => "mono" });

values!(PickFormat {
    List => "list" ("`0,3`"),
    Env => "env" ("`export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0,3` (AMD's, Intel's variables for theirs), for `eval`"),
    Json => "json" ("The chosen GPUs with their free memory and utilization"),
});

values!(Vendor {
    Nvidia => "nvidia" ("CUDA: CUDA_VISIBLE_DEVICES"),
    Amd => "amd" ("ROCm: ROCR_VISIBLE_DEVICES and HIP_VISIBLE_DEVICES"),
    Intel => "intel" ("oneAPI Level Zero: ZE_AFFINITY_MASK"),
});

values!(ColorChoice {
    Auto => "auto" ("Colour when stdout is a terminal and `NO_COLOR` is not set"),
    Always => "always",
    Never => "never",
});
