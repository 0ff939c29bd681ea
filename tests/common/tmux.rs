//! A tmux server of its own per test (never the user's sessions): a real terminal to run
//! gputop in, type into and read back.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Runs `command` in a `width`×`height` pane; `None` (the test skips, or fails in CI) without
    /// tmux.
    pub fn start(command: &str, width: u16, height: u16) -> Option<Self> {
        if !super::have("tmux", &["-V"], "apt-get install tmux") {
            return None;
        }
        static SERVERS: AtomicUsize = AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, Ordering::Relaxed);
        let tmux = Tmux { socket: format!("gputop-test-{}-{n}", std::process::id()) };
        let (w, h) = (width.to_string(), height.to_string());
        let ok = tmux
            .cmd(&["new-session", "-d", "-x", &w, "-y", &h, command])
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session failed");
        Some(tmux)
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]).args(args);
        c
    }

    pub fn screen(&self) -> String {
        String::from_utf8(self.cmd(&["capture-pane", "-p"]).output().unwrap().stdout).unwrap()
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend_from_slice(keys);
        self.cmd(&args).status().unwrap();
    }

    /// The screen once it shows `what`; fails the test after 10 s.
    pub fn wait_for(&self, what: &str) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(what) {
                return screen;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{what:?} never appeared:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]).status();
    }
}
