//! `gputop select`: the free GPUs, best first, in the form a script wants.

use std::io::Write;

use crate::pick::{self, locks::LockDir, vendor, Criteria, PickOptions, Verdict};
use crate::sample::Vendor;
use crate::source::Source;
use crate::Error;

/// How `select` prints its choice (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickFormat {
    /// `0,3`
    List,
    /// `export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0,3`, for `eval` (AMD's and
    /// Intel's variables for their GPUs: [`vendor::environment`]).
    Env,
    /// The chosen GPUs with their free memory and utilization.
    Json,
}

/// `select`'s options: what makes a GPU free, and how to print the choice.
#[derive(Debug, Clone)]
pub struct SelectOptions {
    pub pick: PickOptions,
    pub pick_format: PickFormat,
}

/// Prints the chosen GPUs; exit code 1, with the reason on stderr, when too few are free.
pub fn run(mut source: Box<dyn Source>, args: &SelectOptions) -> Result<i32, Error> {
    let locks = LockDir::for_reading(args.pick.lock_dir.as_deref()).map_err(Error::Usage)?;
    let criteria = criteria(&args.pick);
    let survey = pick::survey(source.as_mut(), &args.pick.visible, &criteria, &locks)?;
    let verdicts = survey.verdicts;
    let wanted = check_count(&args.pick, verdicts.len(), survey.vendor, survey.limited_by)?;
    let best = pick::ranked(&verdicts);
    if best.len() < wanted {
        let reason = pick::shortfall(wanted, &verdicts);
        eprintln!("gputop: {reason}");
        // A script that asked for JSON reads JSON, the failure included.
        if args.pick_format == PickFormat::Json {
            let text = shortfall_json(wanted, &verdicts, &reason, args.pick.by_uuid);
            writeln!(std::io::stdout().lock(), "{text}")?;
        }
        return Ok(1);
    }
    let chosen = &best[..wanted];
    let text = render(chosen, survey.vendor, args.pick_format, args.pick.by_uuid);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    Ok(0)
}

/// What `--min-free-memory`, `--max-util`, `--max-procs` and `--exclude` ask for.
pub(super) fn criteria(args: &PickOptions) -> Criteria {
    Criteria {
        min_free_memory: args.min_free_memory,
        max_util: args.max_util,
        max_procs: args.max_procs,
        exclude: args.exclude.clone(),
        only: args.only.clone(),
        vendor: args.vendor,
    }
}

/// `-n`, checked against `vendor`'s GPUs there are to choose from (within `limited_by`).
pub(super) fn check_count(
    args: &PickOptions,
    candidates: usize,
    vendor: Vendor,
    limited_by: Option<&str>,
) -> Result<usize, Error> {
    let wanted = args.count as usize;
    if wanted > candidates {
        let within = limited_by.map_or(String::new(), |v| format!(" within {v}"));
        let label = vendor.label();
        let hint = if candidates == 0 && args.vendor.is_none() {
            " (another vendor's with --vendor)"
        } else {
            ""
        };
        return Err(Error::Usage(format!(
            "{wanted} GPUs wanted, but there are {candidates} {label} GPUs to choose \
             from{within}{hint}"
        )));
    }
    Ok(wanted)
}

fn render(chosen: &[&Verdict], vendor: Vendor, format: PickFormat, by_uuid: bool) -> String {
    let ids: Vec<String> = chosen.iter().map(|v| v.id(by_uuid)).collect();
    let environment = vendor::environment(vendor, &ids);
    match format {
        PickFormat::List => ids.join(","),
        PickFormat::Env => {
            let assignments: Vec<String> =
                environment.iter().map(|(name, value)| format!("{name}={value}")).collect();
            format!("export {}", assignments.join(" "))
        }
        PickFormat::Json => {
            let gpus: Vec<serde_json::Value> = chosen
                .iter()
                .map(|v| {
                    serde_json::json!({
                        "index": v.index,
                        "vendor": v.vendor.key(),
                        "ordinal": v.ordinal,
                        "uuid": v.uuid,
                        "pci_bus_id": v.pci_bus_id,
                        "memory_free_bytes": v.free_bytes,
                        "utilization_percent": v.utilization.map(|u| (u * 10.0).round() / 10.0),
                    })
                })
                .collect();
            let env: serde_json::Map<String, serde_json::Value> =
                environment.into_iter().map(|(k, v)| (k.to_string(), v.into())).collect();
            // `cuda_visible_devices` as before vendors were told apart: null for AMD or Intel.
            let cuda = (vendor == Vendor::Nvidia).then(|| ids.join(","));
            serde_json::json!({
                "vendor": vendor.key(),
                "cuda_visible_devices": cuda,
                "env": env,
                "gpus": gpus,
            })
            .to_string()
        }
    }
}

/// Too few GPUs free, as JSON: no choice (`cuda_visible_devices` null), the reason, and why
/// each GPU is not free.
fn shortfall_json(wanted: usize, verdicts: &[Verdict], reason: &str, by_uuid: bool) -> String {
    let gpus: Vec<serde_json::Value> = verdicts
        .iter()
        .map(|v| {
            serde_json::json!({
                "index": v.index,
                "id": v.id(by_uuid),
                "uuid": v.uuid,
                "free": v.is_free(),
                "why_not": v.held,
            })
        })
        .collect();
    serde_json::json!({
        "vendor": verdicts.first().map(|v| v.vendor.key()),
        "cuda_visible_devices": null,
        "env": null,
        "gpus": [],
        "wanted": wanted,
        "free": verdicts.iter().filter(|v| v.is_free()).count(),
        "error": reason,
        "candidates": gpus,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_names_the_chosen_gpus_in_order() {
        let v = |index: u32| Verdict {
            index,
            vendor: Vendor::Nvidia,
            ordinal: index,
            uuid: Some(format!("GPU-{index}")),
            pci_bus_id: None,
            free_bytes: Some(1 << 30),
            utilization: Some(2.25),
            held: None,
        };
        let (a, b) = (v(3), v(0));
        let chosen = [&a, &b];
        assert_eq!(render(&chosen, Vendor::Nvidia, PickFormat::List, false), "3,0");
        assert_eq!(render(&chosen, Vendor::Nvidia, PickFormat::List, true), "GPU-3,GPU-0");
        assert_eq!(
            render(&chosen, Vendor::Nvidia, PickFormat::Env, false),
            "export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=3,0"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(&chosen, Vendor::Nvidia, PickFormat::Json, false))
                .unwrap();
        assert_eq!(json["cuda_visible_devices"], "3,0");
        assert_eq!(json["gpus"][0]["utilization_percent"], 2.3);
    }
}
