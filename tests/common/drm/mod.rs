//! A machine with AMD and Intel GPUs that are not there, for the real `gputop` binary: the
//! fixture cards (`cards.rs`) written into a sysfs tree in a temporary directory, and real
//! processes that hold the GPUs' device files open. Each run of gputop happens in a private
//! mount namespace (`unshare --mount --propagation private`, as root) where
//!
//! - the tree is bind-mounted over `/sys` (a bind rather than a copy, so a test can change a
//!   counter, `energy1_input`, while gputop runs);
//! - a tmpfs over `/dev` holds real character devices, `/dev/dri/cardN` (226:N) and
//!   `/dev/dri/renderDM` (226:M), made with `mknod`;
//! - each client process's `/proc/PID/fd` and `/proc/PID/fdinfo` are bind mounts of prepared
//!   directories: `fd/N` a link to a `/dev/dri` node (so `fstatat` through it finds a
//!   character device of major 226, as for a real open DRM file) and `fdinfo/N` the driver's
//!   text (`Documentation/gpu/drm-usage-stats.rst`). Opening the nodes themselves fails with
//!   ENXIO here (no driver behind them), which is why the fd tables are mounted.
//!
//! - the name tables are the fixture's: a tmpfs over each directory where libdrm's
//!   `amdgpu.ids` or the PCI ID database may lie, with a small `pci.ids` naming the four cards
//!   in `/usr/share/misc` (or `/usr/share/hwdata`), so the names do not depend on the host.
//!
//! gputop reads its real paths; nothing in the product knows of this.

pub mod cards;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use self::cards::{write_card, Card};
use crate::common::{fake_nvml, have, Sleeper};
use tempfile::{NamedTempFile, TempDir};

/// Whether mount namespaces can be made here: as root with util-linux's `unshare` (CI runs as
/// root). Otherwise the test says so, and fails in CI.
pub fn can_mount() -> bool {
    have(
        "unshare",
        &["--mount", "--propagation", "private", "true"],
        "run as root with util-linux's unshare: the DRM fixtures are mounted over /sys and /dev",
    )
}

/// The fixture machine: its sysfs tree, its device nodes and its client processes.
pub struct Machine {
    dir: TempDir,
    /// `/dev/dri` node names and minors.
    nodes: Vec<(String, u32)>,
    /// The card each fixture card became: (card, card minor, render minor).
    cards: Vec<(Card, u32, u32)>,
    /// Processes whose fd tables are replaced in the namespace.
    clients: Vec<u32>,
    sleepers: Vec<Sleeper>,
    /// Mount a fresh proc over `/proc` with these options (`hidepid=2`) before the fd tables.
    pub proc_options: Option<String>,
    /// Shell lines run in the namespace after the mounts, before gputop (a mount of the test's).
    pub extra_script: String,
    /// Run gputop in a PID namespace of its own (`unshare --pid --fork --mount-proc`), as in
    /// a container: the clients (the host's processes) are not in it.
    pub pid_namespace: bool,
}

impl Machine {
    /// A machine with `cards`, in that order: the first is `card0` and `renderD128`.
    pub fn new(cards: &[Card]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // gputop may run as another user (the unreadable-process test): it must reach the tree.
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let mut machine = Self {
            dir,
            nodes: Vec::new(),
            cards: Vec::new(),
            clients: Vec::new(),
            sleepers: Vec::new(),
            proc_options: None,
            extra_script: String::new(),
            pid_namespace: false,
        };
        cards::write(&machine.dir.path().join("pci.ids"), cards::PCI_IDS);
        for (i, &card) in cards.iter().enumerate() {
            let (card_minor, render_minor) = (i as u32, 128 + i as u32);
            write_card(&machine.sys(), card, card_minor, render_minor);
            machine.nodes.push((format!("card{card_minor}"), card_minor));
            machine.nodes.push((format!("renderD{render_minor}"), render_minor));
            machine.cards.push((card, card_minor, render_minor));
        }
        machine
    }

    pub fn sys(&self) -> PathBuf {
        self.dir.path().join("sys")
    }

    /// `/dev/dri/renderDM` of `card`.
    pub fn render_node(&self, card: Card) -> String {
        let (_, _, render) = self.cards.iter().find(|(c, ..)| *c == card).unwrap();
        format!("/dev/dri/renderD{render}")
    }

    /// `/dev/dri/cardN` of `card`.
    pub fn card_node(&self, card: Card) -> String {
        let (_, minor, _) = self.cards.iter().find(|(c, ..)| *c == card).unwrap();
        format!("/dev/dri/card{minor}")
    }

    /// A live process (root's `sleep`) holding `fds` open: (fd number, device node, fdinfo).
    pub fn client(&mut self, fds: &[(u32, String, String)]) -> u32 {
        self.client_of(Sleeper::spawn(), fds)
    }

    /// [`Self::client`] for a given process (another user's, say).
    pub fn client_of(&mut self, sleeper: Sleeper, fds: &[(u32, String, String)]) -> u32 {
        let pid = sleeper.pid();
        for (fd, node, fdinfo) in fds {
            let table = self.table(pid);
            std::fs::create_dir_all(table.join("fd")).unwrap();
            std::os::unix::fs::symlink(node, table.join("fd").join(fd.to_string())).unwrap();
            cards::write(&table.join("fdinfo").join(fd.to_string()), fdinfo);
        }
        std::fs::create_dir_all(self.table(pid).join("fd")).unwrap();
        std::fs::create_dir_all(self.table(pid).join("fdinfo")).unwrap();
        self.clients.push(pid);
        self.sleepers.push(sleeper);
        pid
    }

    /// Rewrites a client's fdinfo (atomically: a reader sees the old text or the new).
    pub fn set_fdinfo(&self, pid: u32, fd: u32, text: &str) {
        replace(&self.table(pid).join("fdinfo").join(fd.to_string()), text);
    }

    /// Rewrites a sysfs file of the tree (atomically), e.g. an energy counter.
    pub fn set_sys(&self, relative: &str, text: &str) {
        replace(&self.sys().join(relative), text);
    }

    /// Where a process's replacement fd table lies.
    fn table(&self, pid: u32) -> PathBuf {
        self.dir.path().join("proc").join(pid.to_string())
    }

    /// `gputop args…` in the machine's namespace, as root, with no NVIDIA library reachable
    /// (no `GPUTOP_NVML_LIB`, nothing on `LD_LIBRARY_PATH`).
    pub fn gputop(&self, args: &[&str]) -> Command {
        self.command(None, None, args)
    }

    /// [`Self::gputop`] with the fake NVML library and its `scenario`: NVIDIA GPUs beside.
    pub fn gputop_with_nvidia(&self, scenario: &NamedTempFile, args: &[&str]) -> Command {
        self.command(Some(scenario), None, args)
    }

    /// [`Self::gputop`] as user `uid` (through `setpriv`), who cannot read root's processes.
    pub fn gputop_as(&self, uid: u32, args: &[&str]) -> Command {
        self.command(None, Some(uid), args)
    }

    fn command(&self, nvidia: Option<&NamedTempFile>, uid: Option<u32>, args: &[&str]) -> Command {
        let mut script = String::from("set -e\n");
        script += &format!("mount --bind '{}' /sys\n", self.sys().display());
        script += "mount -t tmpfs -o mode=755 gputop-test-dev /dev\n";
        // /dev/kmsg: `gputop health` reads the kernel log for XIDs.
        script +=
            "mknod -m 666 /dev/null c 1 3\nmknod -m 644 /dev/kmsg c 1 11\nmkdir -m 755 /dev/dri\n";
        script += &format!(
            "for d in /usr/share/libdrm /usr/local/share/libdrm /opt/amdgpu/share/libdrm \
             /usr/share/misc /usr/share/hwdata; do \
             if [ -d $d ]; then mount -t tmpfs gputop-test-ids $d; fi; done\n\
             if [ -f /usr/share/pci.ids ]; then mount --bind /dev/null /usr/share/pci.ids; fi\n\
             if [ -d /usr/share/misc ]; then cp '{ids}' /usr/share/misc/pci.ids; \
             elif [ -d /usr/share/hwdata ]; then cp '{ids}' /usr/share/hwdata/pci.ids; \
             else echo 'no /usr/share/misc or /usr/share/hwdata for the fixture pci.ids' >&2; \
             exit 1; fi\n",
            ids = self.dir.path().join("pci.ids").display()
        );
        for (name, minor) in &self.nodes {
            script += &format!("mknod -m 666 /dev/dri/{name} c 226 {minor}\n");
        }
        if let Some(options) = &self.proc_options {
            script += &format!("mount -t proc -o '{options}' gputop-test-proc /proc\n");
        }
        script += &self.extra_script;
        // In a PID namespace of its own the clients' /proc entries do not exist.
        let clients = if self.pid_namespace { &[][..] } else { &self.clients[..] };
        for pid in clients {
            let table = self.table(*pid);
            for part in ["fd", "fdinfo"] {
                script +=
                    &format!("mount --bind '{}' /proc/{pid}/{part}\n", table.join(part).display());
            }
        }
        match uid {
            Some(uid) => {
                script += &format!(
                    "exec setpriv --reuid={uid} --regid={uid} --clear-groups \
                     --inh-caps=-all \"$@\"\n"
                )
            }
            None => script += "exec \"$@\"\n",
        }
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private"]);
        if self.pid_namespace {
            cmd.args(["--pid", "--fork", "--mount-proc"]);
        }
        cmd.args(["sh", "-c", &script, "sh"])
            .arg(assert_cmd::cargo::cargo_bin("gputop"))
            .args(args)
            .env("LC_ALL", "C.UTF-8")
            .env("TZ", "UTC")
            .env("HOME", self.dir.path())
            .env_remove("GPUTOP_NVML_LIB")
            .env_remove("GPUTOP_FAKE_NVML_SCENARIO")
            .env_remove("LD_LIBRARY_PATH")
            .env_remove("NO_COLOR")
            .env_remove("GPUTOP_INTERVAL")
            .env_remove("GPUTOP_CONFIG")
            .env_remove("GPUTOP_PROMETHEUS")
            .stdin(Stdio::null());
        if let Some(scenario) = nvidia {
            cmd.env("GPUTOP_NVML_LIB", fake_nvml())
                .env("GPUTOP_FAKE_NVML_SCENARIO", scenario.path())
                .env("GPUTOP_FAKE_NVML_TIME", "1000");
        }
        cmd
    }

    /// The path of the fixture tree, for messages.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn replace(path: &Path, text: &str) {
    let temporary = path.with_extension("new");
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}
