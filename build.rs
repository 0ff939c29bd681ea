//! `gputop --version` names the commit it was built from: `gputop 0.1.0 (abc1234)`.
//!
//! The commit comes from git when the source is a git checkout, else from the GPUTOP_COMMIT
//! environment variable (a build from a source tarball can set it), else it is
//! "unknown commit". Nothing here fails a build.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    println!("cargo:rerun-if-env-changed=GPUTOP_COMMIT");
    let commit = from_git(&dir)
        .or_else(|| std::env::var("GPUTOP_COMMIT").ok().filter(|c| !c.trim().is_empty()))
        .unwrap_or_else(|| "unknown commit".into());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rustc-env=GPUTOP_LONG_VERSION={version} ({})", commit.trim());
}

/// The short hash of HEAD, when `dir` is the top of a git checkout (not a tarball unpacked
/// inside some other repository). Asks cargo to run this again when HEAD moves.
fn from_git(dir: &Path) -> Option<String> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    // HEAD changes on a checkout; the branch's ref (loose or packed) on a commit.
    // logs/HEAD grows with every commit and checkout, whether or not the branch's ref is loose.
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string(), "logs/HEAD".to_string()];
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        watch.push(branch);
    }
    for name in watch {
        // A path that does not exist would make cargo run this on every build.
        let path = git(dir, &["rev-parse", "--git-path", &name]).map(|p| dir.join(p));
        if let Some(path) = path.filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    git(dir, &["rev-parse", "--short=7", "HEAD"])
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}
