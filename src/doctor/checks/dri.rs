//! The AMD and Intel GPUs of the machine and the device nodes their compute stacks open: the
//! cards from the kernel's DRM class (the same discovery the monitor uses), display controllers
//! of either vendor on the PCI bus that no driver took, whether this user may use each node,
//! and the groups that own them (by the nodes' group ID, named from `/etc/group`).

use crate::doctor::{Finding, Status, System};
use crate::source::drm::cards::{self, Card, Driver, DRM_CLASS};

/// PCI vendor IDs.
pub const AMD: &str = "0x1002";
pub const INTEL: &str = "0x8086";

/// The AMD and Intel GPUs found: cards on their drivers, and PCI display controllers.
#[derive(Debug, Default)]
pub struct OtherGpus {
    pub amd: Vec<Card>,
    pub intel: Vec<Card>,
    /// PCI addresses of AMD GPUs (display controllers, class 0x03xxxx, and processing
    /// accelerators, 0x12xxxx: an Instinct MI300), bound or not.
    pub amd_pci: Vec<String>,
    pub intel_pci: Vec<String>,
}

impl OtherGpus {
    pub fn find(sys: &System) -> Self {
        let (amd, intel) = cards::discover(&sys.path(DRM_CLASS))
            .into_iter()
            .partition(|c| c.driver == Driver::Amdgpu);
        Self { amd, intel, amd_pci: pci_gpus(sys, AMD), intel_pci: pci_gpus(sys, INTEL) }
    }

    pub fn has_amd(&self) -> bool {
        !self.amd.is_empty() || !self.amd_pci.is_empty()
    }

    pub fn has_intel(&self) -> bool {
        !self.intel.is_empty() || !self.intel_pci.is_empty()
    }

    /// What the machine has instead of an NVIDIA GPU, for a "not applicable" line.
    pub fn describe(&self) -> String {
        match (self.has_amd(), self.has_intel()) {
            (true, true) => "this machine's GPUs are AMD's and Intel's".into(),
            (true, false) => "this machine's GPUs are AMD's".into(),
            _ => "this machine's GPUs are Intel's".into(),
        }
    }
}

/// PCI addresses of `vendor`'s display/3D controllers.
fn pci_gpus(sys: &System, vendor: &str) -> Vec<String> {
    let base = "/sys/bus/pci/devices";
    sys.list(base)
        .into_iter()
        .filter(|dev| {
            let read = |f: &str| sys.read(format!("{base}/{dev}/{f}")).unwrap_or_default();
            let class = read("class");
            let class = class.trim();
            read("vendor").trim() == vendor
                && (class.starts_with("0x03") || class.starts_with("0x12"))
        })
        .collect()
}

/// "card1 (0000:03:00.0, 1002:744c)".
pub fn describe_card(card: &Card) -> String {
    let name = card.dir.file_name().map_or("card?".into(), |n| n.to_string_lossy().into_owned());
    let slot = card.pci_bus_id.as_deref().unwrap_or("unknown slot");
    format!("{name} ({slot}, {:04x}:{:04x})", card.vendor_id, card.device_id)
}

/// The render nodes of `cards` (`/dev/dri/renderDN`, from each card's minors in sysfs), and the
/// cards that list none.
pub fn render_nodes(cards: &[Card]) -> (Vec<String>, Vec<String>) {
    let mut nodes = Vec::new();
    let mut without = Vec::new();
    for card in cards {
        let before = nodes.len();
        nodes.extend(
            card.minors.iter().filter(|m| **m >= 128).map(|m| format!("/dev/dri/renderD{m}")),
        );
        if nodes.len() == before {
            without.push(describe_card(card));
        }
    }
    (nodes, without)
}

/// One finding for device nodes a stack needs (`check`, e.g. "amd_render_nodes"): missing ones
/// are a failure with `missing_fix`; ones this user may not read and write a failure pointing
/// at the groups finding.
pub fn nodes_finding(
    sys: &System,
    check: &'static str,
    what: &str,
    nodes: &[String],
    missing_fix: &str,
) -> Finding {
    let missing: Vec<&str> =
        nodes.iter().filter(|n| !sys.exists(n.as_str())).map(String::as_str).collect();
    let one = nodes.len() == 1 && nodes[0] == what;
    if !missing.is_empty() {
        let title = if one {
            format!("{what} is missing")
        } else {
            format!("{what} missing: {}", missing.join(", "))
        };
        return Finding::new(check, Status::Failure, title).fix(missing_fix);
    }
    let denied: Vec<&str> = nodes
        .iter()
        .filter(|n| sys.can_read_write(n.as_str()) == Some(false))
        .map(String::as_str)
        .collect();
    if !denied.is_empty() {
        return Finding::new(
            check,
            Status::Failure,
            format!("No permission to use {}", denied.join(", ")),
        )
        .evidence(owners(sys, &denied))
        .evidence("the GPU's compute stack needs read and write access to them")
        .fix("join the group that owns them (see the groups below)");
    }
    if one {
        return Finding::new(check, Status::Ok, format!("{what} is present and usable"));
    }
    Finding::new(check, Status::Ok, format!("{what} present and usable")).evidence(nodes.join(", "))
}

/// "/dev/kfd: group render (gid 109), mode 0660; …".
fn owners(sys: &System, nodes: &[&str]) -> String {
    let groups = Groups::read(sys);
    nodes
        .iter()
        .filter_map(|n| {
            let (gid, mode) = sys.group_and_mode(n)?;
            Some(format!("{n}: group {}, mode {mode:04o}", groups.label(gid)))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether the user is in the groups that own `nodes` (by their group ID). A failure only when
/// a node is denied to this user: the fix names the owning groups, or says to log in again
/// when `/etc/group` already lists the user there but this session predates it.
pub fn groups_finding(sys: &System, check: &'static str, nodes: &[String]) -> Finding {
    let groups = Groups::read(sys);
    let present: Vec<&String> = nodes.iter().filter(|n| sys.exists(n.as_str())).collect();
    let mut owning: Vec<u32> =
        present.iter().filter_map(|n| sys.group_and_mode(n.as_str())).map(|(gid, _)| gid).collect();
    owning.sort_unstable();
    owning.dedup();
    let names = |gids: &[u32]| gids.iter().map(|g| groups.label(*g)).collect::<Vec<_>>().join(", ");
    if present.is_empty() {
        return Finding::new(
            check,
            Status::Skipped,
            "Groups not checked: no device node to check them on",
        );
    }
    let denied = present.iter().any(|n| sys.can_read_write(n.as_str()) == Some(false));
    let joined: Vec<u32> = owning.iter().copied().filter(|g| sys.in_group(*g)).collect();
    let hint = "ROCm's and oneAPI's guides name `render` and `video`; what counts is the group that owns each node";
    if !denied {
        let title = if sys.uid() == 0 {
            "Running as root: the nodes' groups do not limit it".to_string()
        } else if joined.is_empty() {
            "The device nodes are open to this user without a group".to_string()
        } else {
            format!("In the group(s) that own the device nodes: {}", names(&joined))
        };
        return Finding::new(check, Status::Ok, title);
    }
    let lacking: Vec<u32> = owning.iter().copied().filter(|g| !sys.in_group(*g)).collect();
    let user = user_name(sys);
    let listed: Vec<u32> = lacking
        .iter()
        .copied()
        .filter(|g| user.as_deref().is_some_and(|u| groups.lists(*g, u)))
        .collect();
    let mut f = Finding::new(
        check,
        Status::Failure,
        format!("Not in the group(s) that own the device nodes: {}", names(&lacking)),
    )
    .evidence(hint);
    let named: Vec<String> =
        lacking.iter().map(|g| groups.name(*g).unwrap_or_else(|| g.to_string())).collect();
    f = if !listed.is_empty() && listed.len() == lacking.len() {
        f.evidence(format!(
            "/etc/group lists you in {}, but this login began before",
            names(&listed)
        ))
        .fix(format!("log out and in again (or start a shell with `newgrp {}`)", named[0]))
    } else {
        f.fix(format!("sudo usermod -aG {} $USER, then log out and in again", named.join(",")))
    };
    f
}

/// The user's name from `/etc/passwd`, by UID.
fn user_name(sys: &System) -> Option<String> {
    let passwd = sys.read("/etc/passwd")?;
    passwd.lines().find_map(|l| {
        let fields: Vec<&str> = l.split(':').collect();
        (fields.len() > 2 && fields[2].parse() == Ok(sys.uid())).then(|| fields[0].to_string())
    })
}

/// `/etc/group`: name, GID and members of each group.
struct Groups(Vec<(String, u32, Vec<String>)>);

impl Groups {
    fn read(sys: &System) -> Self {
        let text = sys.read("/etc/group").unwrap_or_default();
        Self(
            text.lines()
                .filter_map(|l| {
                    let mut f = l.split(':');
                    let name = f.next()?.to_string();
                    let gid = f.nth(1)?.parse().ok()?;
                    let members = f
                        .next()
                        .unwrap_or("")
                        .split(',')
                        .filter(|m| !m.is_empty())
                        .map(str::to_string)
                        .collect();
                    Some((name, gid, members))
                })
                .collect(),
        )
    }

    fn name(&self, gid: u32) -> Option<String> {
        self.0.iter().find(|(_, g, _)| *g == gid).map(|(n, _, _)| n.clone())
    }

    /// "render (gid 109)", or "gid 109" for a group `/etc/group` does not name.
    fn label(&self, gid: u32) -> String {
        self.name(gid).map_or(format!("gid {gid}"), |n| format!("{n} (gid {gid})"))
    }

    fn lists(&self, gid: u32, user: &str) -> bool {
        self.0.iter().any(|(_, g, members)| *g == gid && members.iter().any(|m| m == user))
    }
}
