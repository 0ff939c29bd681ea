//! A GPU's processes: the compute, graphics and MPS lists merged by PID, retried when the
//! list grows between NVML's size query and its fill, and each one's SM share.

use super::*;

/// Compute, graphics and MPS processes merged by PID, with per-process SM/memory utilization;
/// `None` (unknown, with the reason noted) when a list that the GPU supports could not be read.
/// A list this GPU does not have (NOT_SUPPORTED: MPS off, graphics on a compute-only card)
/// is simply empty, unless no list at all can be read.
pub(super) fn processes(d: &Device, r: &mut Reader) -> Option<Vec<GpuProcess>> {
    let mut by_pid: BTreeMap<u32, GpuProcess> = BTreeMap::new();
    let lists = [
        (with_retries(|| d.running_compute_processes()), ProcessKind::Compute),
        (with_retries(|| d.running_graphics_processes()), ProcessKind::Graphics),
        (with_retries(|| d.mps_running_compute_processes()), ProcessKind::Compute),
    ];
    let mut not_supported = None;
    let mut listed = 0;
    for (list, kind) in lists {
        match list {
            Ok(list) => {
                listed += 1;
                for info in list {
                    merge_process(&mut by_pid, info, kind);
                }
            }
            Err(e) if missing(&e).reason == MissingReason::NotSupported => not_supported = Some(e),
            Err(e) => {
                r.note(FieldKey::Processes, &e);
                return None;
            }
        }
    }
    if listed == 0 {
        if let Some(e) = not_supported {
            r.note(FieldKey::Processes, &e);
        }
        return None;
    }
    if !by_pid.is_empty() {
        for s in process_utilization(d, r) {
            if let Some(p) = by_pid.get_mut(&s.pid) {
                p.sm_percent = Some(s.sm_util);
                p.memory_percent = Some(s.mem_util);
            }
        }
    }
    Some(by_pid.into_values().collect())
}

/// A process list, asked again when processes started between NVML's size query and the fill
/// outgrew the room left for them (INSUFFICIENT_SIZE): a busy GPU, not an unknown list.
pub(super) fn with_retries(
    list: impl Fn() -> Result<Vec<ProcessInfo>, NvmlError>,
) -> Result<Vec<ProcessInfo>, NvmlError> {
    let mut result = list();
    for _ in 0..2 {
        match result {
            Err(NvmlError::InsufficientSize(_)) => result = list(),
            _ => break,
        }
    }
    result
}

pub(super) fn merge_process(
    by_pid: &mut BTreeMap<u32, GpuProcess>,
    info: ProcessInfo,
    kind: ProcessKind,
) {
    let memory = match info.used_gpu_memory {
        UsedGpuMemory::Used(bytes) => Some(bytes),
        UsedGpuMemory::Unavailable => None,
    };
    let p = by_pid
        .entry(info.pid)
        .and_modify(|p| {
            p.kind = Some(p.kind.map_or(kind, |k| k.merge(kind)));
            p.gpu_memory_bytes = p.gpu_memory_bytes.or(memory);
        })
        .or_insert_with(|| GpuProcess::new(info.pid, kind, memory));
    p.gpu_instance_id = p.gpu_instance_id.or(info.gpu_instance_id);
    p.compute_instance_id = p.compute_instance_id.or(info.compute_instance_id);
}

/// The newest utilization sample of each process in the last few seconds. NOT_FOUND (no
/// sample newer than the timestamp) and NOT_SUPPORTED (e.g. MIG) both mean "none".
pub(super) fn process_utilization(
    d: &Device,
    r: &mut Reader,
) -> Vec<nvml_wrapper::struct_wrappers::device::ProcessUtilizationSample> {
    let since = SystemTime::now()
        .checked_sub(PROCESS_UTILIZATION_WINDOW)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_micros() as u64);
    let mut samples = match d.process_utilization_stats(since) {
        Ok(samples) => samples,
        Err(NvmlError::NotFound) => Vec::new(),
        Err(e) => {
            r.note(FieldKey::ProcessesUtilization, &e);
            Vec::new()
        }
    };
    samples.sort_by_key(|s| (s.pid, std::cmp::Reverse(s.timestamp)));
    samples.dedup_by_key(|s| s.pid);
    samples
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_listed_twice_becomes_compute_graphics() {
        let mut by_pid = BTreeMap::new();
        let info = |mem| ProcessInfo {
            pid: 7,
            used_gpu_memory: mem,
            gpu_instance_id: None,
            compute_instance_id: None,
        };
        merge_process(&mut by_pid, info(UsedGpuMemory::Unavailable), ProcessKind::Compute);
        merge_process(&mut by_pid, info(UsedGpuMemory::Used(10)), ProcessKind::Graphics);
        let p = &by_pid[&7];
        assert_eq!(p.kind, Some(ProcessKind::ComputeGraphics));
        assert_eq!(p.gpu_memory_bytes, Some(10));
    }
}
