//! gputop's per-process families (`serve --processes`): each process's GPU memory and SM
//! share, labelled with who it is and where it runs (high cardinality, so only when asked).

use crate::metric_names::gputop as names;
use crate::sample::GpuSample;
use crate::text::sanitize::sanitize;

use super::builder::{own, Builder, Labels};
use super::gpu::ratio;

pub fn families(b: &mut Builder, g: &GpuSample, l: &Labels) {
    for p in g.known_processes() {
        let pid = p.pid.to_string();
        // A process names itself: escaped, as everywhere, since a scrape read with `curl`
        // reaches a terminal.
        let untrusted = |s: Option<&str>| sanitize(s.unwrap_or_default()).into_owned();
        let user = untrusted(p.user.as_deref());
        let command = untrusted(p.name.as_deref().or(p.command.as_deref()));
        // Where it runs: container, pod, Slurm job (empty on the host).
        let at = p.placement.clone().unwrap_or_default();
        let container = at.container_id.unwrap_or_default();
        let pod = at.pod_name.or(at.pod_uid).unwrap_or_default();
        let namespace = at.namespace.unwrap_or_default();
        let job = at.slurm_job.unwrap_or_default();
        let values = [pid.as_str(), &user, &command, &container, &pod, &namespace, &job];
        let pl = own(l, &names::PROCESS_GPU_MEMORY, &values);
        b.set(&names::PROCESS_GPU_MEMORY, &pl, p.gpu_memory_bytes.map(|v| v as f64));
        b.set(&names::PROCESS_SM_UTILIZATION, &pl, p.sm_percent.map(ratio));
    }
}
