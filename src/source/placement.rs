//! Where a GPU process runs: the container (Docker, containerd, CRI-O, Podman) and Kubernetes
//! pod, or the systemd unit or Slurm job, read from `/proc/PID/cgroup` (cgroup v1 and v2
//! layouts, cgroupfs and systemd drivers) and, for the pod name, `HOSTNAME` in
//! `/proc/PID/environ` when readable.

pub use crate::sample::Placement;

/// Reads a placement from the text of `/proc/PID/cgroup`.
pub fn from_cgroup(text: &str) -> Placement {
    let mut p = Placement::default();
    for line in text.lines() {
        // "hierarchy-id:controllers:path"; v2 has a single "0::path" line.
        let Some(path) = line.splitn(3, ':').nth(2) else { continue };
        for part in path.split('/') {
            read_component(part, &mut p);
        }
    }
    p
}

fn read_component(part: &str, p: &mut Placement) {
    // systemd driver: docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>.scope, libpod-<id>.scope
    let scope = part.strip_suffix(".scope").unwrap_or(part);
    for (prefix, runtime) in [
        ("docker-", "docker"),
        ("cri-containerd-", "containerd"),
        ("crio-", "cri-o"),
        ("libpod-", "podman"),
    ] {
        if let Some(id) = scope.strip_prefix(prefix).filter(|id| is_container_id(id)) {
            set_container(p, runtime, id);
            return;
        }
    }
    // cgroupfs driver: a bare 64-hex component (docker/<id>, kubepods/…/pod<uid>/<id>).
    if is_container_id(part) && p.container_id.is_none() {
        set_container(p, if p.pod_uid.is_some() { "containerd" } else { "docker" }, part);
        return;
    }
    // kubepods-burstable-pod<uid with _>.slice, or pod<uid> under cgroupfs.
    let slice = part.strip_suffix(".slice").unwrap_or(part);
    if let Some(uid) =
        slice.rsplit_once("-pod").map(|(_, u)| u).or_else(|| slice.strip_prefix("pod"))
    {
        let uid = uid.replace('_', "-");
        if uid.len() == 36 && uid.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            p.pod_uid = Some(uid);
            return;
        }
    }
    if let Some(job) =
        part.strip_prefix("job_").filter(|j| !j.is_empty() && j.chars().all(|c| c.is_ascii_digit()))
    {
        p.slurm_job = Some(job.to_string());
        return;
    }
    if part.ends_with(".service") && !part.starts_with("user@") && p.systemd_unit.is_none() {
        p.systemd_unit = Some(part.to_string());
    }
}

fn is_container_id(s: &str) -> bool {
    s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit())
}

fn set_container(p: &mut Placement, runtime: &str, id: &str) {
    // A pod's containers run under containerd or CRI-O even when the path says docker.
    p.runtime = Some(runtime.to_string());
    p.container_id = Some(id[..12].to_string());
    // Inside a container a .service component is the runtime's, not the workload's.
    p.systemd_unit = None;
}

/// Adds what the process environment says (`/proc/PID/environ`: NUL-separated): the pod name
/// from `HOSTNAME`, the namespace from `POD_NAMESPACE` when the pod exports it.
pub fn add_environ(p: &mut Placement, environ: &[u8]) {
    if p.pod_uid.is_none() {
        return;
    }
    for var in environ.split(|b| *b == 0) {
        let var = String::from_utf8_lossy(var);
        if let Some(v) = var.strip_prefix("HOSTNAME=") {
            p.pod_name = Some(v.to_string());
        } else if let Some(v) = var.strip_prefix("POD_NAMESPACE=") {
            p.namespace = Some(v.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4e8c1a2b9d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
    const POD: &str = "8a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";

    #[test]
    fn docker_cgroup_v1_and_v2() {
        let v1 = from_cgroup(&format!("12:memory:/docker/{ID}\n11:cpu,cpuacct:/docker/{ID}\n"));
        assert_eq!(
            (v1.runtime.as_deref(), v1.container_id.as_deref()),
            (Some("docker"), Some("3f4e8c1a2b9d"))
        );
        let v2 = from_cgroup(&format!("0::/system.slice/docker-{ID}.scope\n"));
        assert_eq!(v2.label().as_deref(), Some("docker:3f4e8c1a2b9d"));
        assert_eq!(v2.systemd_unit, None);
    }

    #[test]
    fn kubernetes_pods_under_both_drivers() {
        let systemd = from_cgroup(&format!(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/cri-containerd-{ID}.scope\n",
            POD.replace('-', "_")
        ));
        assert_eq!(systemd.pod_uid.as_deref(), Some(POD));
        assert_eq!(systemd.runtime.as_deref(), Some("containerd"));
        let cgroupfs = from_cgroup(&format!("11:devices:/kubepods/besteffort/pod{POD}/{ID}\n"));
        assert_eq!(cgroupfs.pod_uid.as_deref(), Some(POD));
        assert_eq!(cgroupfs.container_id.as_deref(), Some("3f4e8c1a2b9d"));
        let crio = from_cgroup(&format!(
            "0::/kubepods.slice/kubepods-pod{}.slice/crio-{ID}.scope\n",
            POD.replace('-', "_")
        ));
        assert_eq!(crio.runtime.as_deref(), Some("cri-o"));
    }

    #[test]
    fn pod_name_comes_from_the_environment() {
        let mut p = from_cgroup(&format!("0::/kubepods/pod{POD}/{ID}\n"));
        add_environ(&mut p, b"PATH=/usr/bin\0HOSTNAME=trainer-7c9f-x2\0POD_NAMESPACE=ml\0");
        assert_eq!(p.label().as_deref(), Some("pod/trainer-7c9f-x2"));
        assert_eq!(p.namespace.as_deref(), Some("ml"));
        // Outside a pod, HOSTNAME says nothing about placement.
        let mut plain = Placement::default();
        add_environ(&mut plain, b"HOSTNAME=box\0");
        assert!(plain.is_empty());
    }

    #[test]
    fn podman_slurm_and_systemd() {
        let podman = from_cgroup(&format!(
            "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope\n"
        ));
        assert_eq!(podman.label().as_deref(), Some("podman:3f4e8c1a2b9d"));
        let slurm = from_cgroup("0::/system.slice/slurmstepd.scope/job_12345/step_0/user/task_0\n");
        assert_eq!(slurm.label().as_deref(), Some("slurm:12345"));
        let slurm_v1 = from_cgroup("4:memory:/slurm/uid_1000/job_777/step_batch\n");
        assert_eq!(slurm_v1.slurm_job.as_deref(), Some("777"));
        let unit = from_cgroup("0::/system.slice/ollama.service\n");
        assert_eq!(unit.label().as_deref(), Some("ollama.service"));
        let session = from_cgroup("0::/user.slice/user-1000.slice/session-3.scope\n");
        assert!(session.is_empty());
    }
}
