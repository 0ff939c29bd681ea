//! `gputop select`: the free GPUs, best first, in the form a script wants.

use std::io::Write;

use crate::pick::{self, locks::LockDir, Criteria, PickOptions, Verdict};
use crate::source::Source;
use crate::Error;

/// How `select` prints its choice (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickFormat {
    /// `0,3`
    List,
    /// `export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0,3`, for `eval`.
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
    let visible = args.pick.visible.clone();
    let criteria = criteria(&args.pick);
    let (_, verdicts) = pick::survey(source.as_mut(), visible.as_deref(), &criteria, &locks)?;
    let wanted = check_count(&args.pick, verdicts.len(), visible.is_some())?;
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
    let text = render(chosen, args.pick_format, args.pick.by_uuid);
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
    }
}

/// `-n`, checked against the GPUs there are to choose from.
pub(super) fn check_count(
    args: &PickOptions,
    candidates: usize,
    limited: bool,
) -> Result<usize, Error> {
    let wanted = args.count as usize;
    if wanted > candidates {
        let within = if limited { " within CUDA_VISIBLE_DEVICES" } else { "" };
        return Err(Error::Usage(format!(
            "{wanted} GPUs wanted, but there are {candidates} to choose from{within}"
        )));
    }
    Ok(wanted)
}

fn render(chosen: &[&Verdict], format: PickFormat, by_uuid: bool) -> String {
    let list: Vec<String> = chosen.iter().map(|v| v.id(by_uuid)).collect();
    let list = list.join(",");
    match format {
        PickFormat::List => list,
        // Indices are NVML's, which CUDA follows only in PCI bus order (its default is
        // fastest first): the order goes with them.
        PickFormat::Env => {
            format!("export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES={list}")
        }
        PickFormat::Json => {
            let gpus: Vec<serde_json::Value> = chosen
                .iter()
                .map(|v| {
                    serde_json::json!({
                        "index": v.index,
                        "uuid": v.uuid,
                        "memory_free_bytes": v.free_bytes,
                        "utilization_percent": v.utilization.map(|u| (u * 10.0).round() / 10.0),
                    })
                })
                .collect();
            serde_json::json!({ "cuda_visible_devices": list, "gpus": gpus }).to_string()
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
        "cuda_visible_devices": null,
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
            uuid: Some(format!("GPU-{index}")),
            free_bytes: Some(1 << 30),
            utilization: Some(2.25),
            held: None,
        };
        let (a, b) = (v(3), v(0));
        let chosen = [&a, &b];
        assert_eq!(render(&chosen, PickFormat::List, false), "3,0");
        assert_eq!(render(&chosen, PickFormat::List, true), "GPU-3,GPU-0");
        assert_eq!(
            render(&chosen, PickFormat::Env, false),
            "export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=3,0"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(&chosen, PickFormat::Json, false)).unwrap();
        assert_eq!(json["cuda_visible_devices"], "3,0");
        assert_eq!(json["gpus"][0]["utilization_percent"], 2.3);
    }
}
