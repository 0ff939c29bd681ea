//! Release builds lay out the functions gputop runs next to each other, in the order listed in
//! `assets/link-order.txt` (made by `scripts/order-functions.sh`). The kernel maps code in
//! runs of up to 64 KiB around each page a program touches, so the few hundred functions the
//! monitor runs, scattered over a 2.9 MiB text section, kept 2.4 MiB of it resident; laid out
//! together they keep about 1 MiB.
//!
//! The option is lld's: it is passed only where lld links (Rust's default linker for x86-64
//! Linux since 1.90) and nobody chose another linker. Names in the list that no longer exist
//! are ignored, so a stale list costs memory, never a failed build.

use std::env;
use std::path::Path;
use std::process::Command;

const ORDER: &str = "assets/link-order.txt";

fn main() {
    println!("cargo:rerun-if-changed={ORDER}");
    println!("cargo:rerun-if-changed=build.rs");
    let list = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join(ORDER);
    if list.is_file() && lld_links_this_build() {
        println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}", list.display());
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

fn lld_links_this_build() -> bool {
    let var = |key: &str| env::var(key).unwrap_or_default();
    var("PROFILE") == "release"
        && var("TARGET") == "x86_64-unknown-linux-gnu"
        // A linker set in Cargo's configuration, or by flags (-Clinker, -Clinker-features,
        // -Clink-self-contained, link arguments): theirs to choose.
        && env::var_os("RUSTC_LINKER").is_none()
        && !var("CARGO_ENCODED_RUSTFLAGS").contains("link")
        && rustc_minor().is_some_and(|minor| minor >= 90)
}

/// The `N` of rustc 1.N.
fn rustc_minor() -> Option<u32> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc).arg("-vV").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let release = text.lines().find_map(|l| l.strip_prefix("release: "))?;
    release.split('.').nth(1)?.parse().ok()
}
