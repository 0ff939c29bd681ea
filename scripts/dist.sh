#!/usr/bin/env bash
# Release artifacts into dist/, from a clean clone, for x86_64 and aarch64 Linux:
#   gputop-VERSION-TARGET.tar.gz   the binary, man page, completions, READMEs, docs/, CHANGELOG, licences
#   gputop_VERSION-1_ARCH.deb      (cargo-deb)       gputop-VERSION-1.ARCH.rpm (cargo-generate-rpm)
#   gputop-VERSION-*-manylinux_2_17_ARCH.whl         (maturin with zig)
#   SHA256SUMS
# Every binary links glibc with a 2.17 baseline (cargo-zigbuild), so one build runs on CentOS 7
# and everything since; the script checks that, runs the aarch64 builds under qemu, installs the
# x86_64 .deb and .rpm into scratch roots (dpkg --root, rpm --root; never into this system) and
# the wheel into a fresh venv, and lists every artifact. It installs what it needs itself (apt,
# pip into a venv under target/, cargo install under target/), as .ci/run does. It is not part
# of CI: it takes long.
#
# On any failure it stops with one line on stderr saying what failed, and a non-zero exit
# (2 when CHANGELOG.md has no dated section "## [VERSION] - YYYY-MM-DD" for the version;
# DIST_ALLOW_UNRELEASED=1 accepts an undated or "unreleased" one, for a build that is no release).
set -Eeuo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never LC_ALL=C.UTF-8

die() {
  echo "dist.sh: $*" >&2
  exit 1
}
# A command that fails without a die of its own still ends with one line naming it.
trap 'echo "dist.sh: failed (line $LINENO): $BASH_COMMAND" >&2' ERR
started=$(date +%s)
# A step's heading, with the seconds since the start.
step() { echo "== [$(($(date +%s) - started)) s] $*"; }

TARGETS=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu)
GLIBC_BASELINE=2.17
TOOLS=${DIST_TOOLS:-target/dist-tools} # the venv and cargo-installed tools, kept between runs
SHARE=target/dist-share # generated man page, completions and units (Cargo.toml's package metadata names them)
TARGET_DIR=${CARGO_TARGET_DIR:-target}
# Versions of the tools, pinned so that two runs build the same way.
PIP_TOOLS=(ziglang==0.17.1 cargo-zigbuild==0.24.1 maturin==1.16.0)
CARGO_TOOLS=(cargo-deb@3.8.0 cargo-generate-rpm@0.21.1)

# --- The version, and its CHANGELOG section: a release says what changed (exit 2 without). ---
VERSION=$(awk -F'"' '/^\[/ { pkg = ($0 == "[package]") } pkg && /^version *=/ { print $2; exit }' Cargo.toml)
[ -n "$VERSION" ] || die "no version in Cargo.toml's [package]"
# changelog_section VERSION: how CHANGELOG.md titles VERSION's section, "## [VERSION] - DATE",
# compared literally (a version's dots are no pattern): "dated" when DATE is YYYY-MM-DD,
# "undated" for any other title of that version ("unreleased", no date), nothing without one.
changelog_section() {
  awk -v head="## [$1]" '
    index($0, head) == 1 {
      rest = substr($0, length(head) + 1)
      if (rest ~ /^ - [0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9] *$/) found = "dated"
      else if (found == "" && (rest == "" || rest ~ /^ /)) found = "undated"
    }
    END { print found }' CHANGELOG.md
}
case "$(changelog_section "$VERSION")" in
  dated) ;;
  undated)
    if [ "${DIST_ALLOW_UNRELEASED:-}" != 1 ]; then
      echo "dist.sh: CHANGELOG.md's section for $VERSION has no release date ('## [$VERSION] - YYYY-MM-DD'); date it, or set DIST_ALLOW_UNRELEASED=1 for a build that is no release" >&2
      exit 2
    fi
    echo "dist.sh: CHANGELOG.md's section for $VERSION is undated; building anyway (DIST_ALLOW_UNRELEASED=1)" >&2
    ;;
  *)
    echo "dist.sh: CHANGELOG.md has no '## [$VERSION] - YYYY-MM-DD' section for Cargo.toml's version $VERSION; add one first (DIST_ALLOW_UNRELEASED=1 accepts an undated one)" >&2
    exit 2
    ;;
esac
step "gputop $VERSION"

# --- System packages: qemu to run the aarch64 builds, its C library, rpm to list the .rpm,
# objdump for both architectures to read the glibc symbol versions. ---
missing=()
command -v qemu-aarch64 >/dev/null 2>&1 || missing+=(qemu-user)
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || missing+=(libc6-arm64-cross)
command -v rpm >/dev/null 2>&1 || missing+=(rpm)
command -v objdump >/dev/null 2>&1 || missing+=(binutils)
command -v aarch64-linux-gnu-objdump >/dev/null 2>&1 || missing+=(binutils-aarch64-linux-gnu)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  step "apt-get install ${missing[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
    die "apt-get install ${missing[*]} failed"
fi

# --- Rust targets: the standard library for each architecture. ---
rustup target add "${TARGETS[@]}" >/dev/null 2>&1 || die "rustup target add ${TARGETS[*]} failed"

# --- zig (the C compiler and linker that targets glibc 2.17), cargo-zigbuild and maturin,
# all prebuilt wheels, in a venv under target/. ---
[ -x "$TOOLS/venv/bin/pip" ] || python3 -m venv "$TOOLS/venv" || die "python3 -m venv $TOOLS/venv failed"
# Pinned versions already there are not fetched again.
"$TOOLS/venv/bin/pip" install --quiet "${PIP_TOOLS[@]}" || die "pip install ${PIP_TOOLS[*]} failed"

# --- cargo-deb and cargo-generate-rpm, built from their locked sources into target/. ---
for tool in "${CARGO_TOOLS[@]}"; do
  if [ ! -x "$TOOLS/bin/${tool%@*}" ]; then
    step "cargo install $tool"
    cargo install --quiet --locked --root "$TOOLS" "$tool" || die "cargo install $tool failed"
  fi
done
TOOLS=$(realpath "$TOOLS")
export PATH="$TOOLS/bin:$TOOLS/venv/bin:$PATH"

# --- The commit for `gputop --version`: build.rs asks git itself; this is its fallback. ---
GPUTOP_COMMIT=$(git rev-parse --short=7 HEAD 2>/dev/null || true)
export GPUTOP_COMMIT

# --- A fresh dist/: nothing left from an earlier run gets a checksum. ---
rm -rf dist "$SHARE"
mkdir -p dist "$SHARE"

# --- The binaries, against glibc 2.17 (zig provides that glibc's stubs; rusqlite's bundled
# SQLite and ring's C and assembly compile with zig cc for it). ---
for t in "${TARGETS[@]}"; do
  step "cargo zigbuild $t.$GLIBC_BASELINE"
  cargo zigbuild --release --locked --target "$t.$GLIBC_BASELINE" -p gputop --bin gputop ||
    die "cargo zigbuild --target $t.$GLIBC_BASELINE failed"
done
bin() { echo "$TARGET_DIR/$1/release/gputop"; }

# check_glibc FILE OBJDUMP: the highest GLIBC_ symbol version FILE needs is the baseline;
# fails naming every symbol that needs more.
check_glibc() {
  local file=$1 objdump=$2 syms highest too_new
  syms=$("$objdump" -T "$file") || die "$objdump -T $file failed"
  highest=$(grep -o 'GLIBC_[0-9][0-9.]*' <<<"$syms" | sed 's/GLIBC_//' | sort -uV | tail -n1)
  [ -n "$highest" ] || die "$file: no GLIBC_ symbol versions (not linked against glibc?)"
  too_new=$(awk -v base="$GLIBC_BASELINE" '
    match($0, /GLIBC_[0-9][0-9.]*/) {
      v = substr($0, RSTART + 6, RLENGTH - 6); split(v, a, "."); split(base, b, ".")
      if (a[1] + 0 > b[1] + 0 || (a[1] + 0 == b[1] + 0 && a[2] + 0 > b[2] + 0)) print $NF "@GLIBC_" v
    }' <<<"$syms" | sort -u | tr '\n' ' ')
  [ -z "$too_new" ] || die "$file needs glibc newer than $GLIBC_BASELINE: $too_new"
  echo "glibc check: $file: highest GLIBC_$highest (<= $GLIBC_BASELINE)"
}
# check_needed FILE OBJDUMP: FILE links glibc's libraries alone, as the packages' Depends say.
check_needed() {
  local headers needed others
  headers=$("$2" -p "$1") || die "$2 -p $1 failed"
  needed=$(awk '$1 == "NEEDED" { print $2 }' <<<"$headers")
  [ -n "$needed" ] || die "$1: no NEEDED libraries (not a dynamically linked binary?)"
  others=$(awk '!/^(libc|libm|libdl|libpthread|librt|ld-linux.*)\.so/ { printf "%s ", $0 }' <<<"$needed")
  [ -z "$others" ] || die "$1 needs libraries beyond glibc, which the packages do not depend on: $others"
}
check_glibc "$(bin x86_64-unknown-linux-gnu)" objdump
check_glibc "$(bin aarch64-unknown-linux-gnu)" aarch64-linux-gnu-objdump
check_needed "$(bin x86_64-unknown-linux-gnu)" objdump
check_needed "$(bin aarch64-unknown-linux-gnu)" aarch64-linux-gnu-objdump

# --- The aarch64 binary runs, under qemu: the demo, and the fake NVML library built for
# aarch64 the same way (the real NVML loading path: dlopen, symbol lookup, the calls). ---
qemu_arm() { qemu-aarch64 -L /usr/aarch64-linux-gnu "$@"; }
# shows_gpus WHAT COMMAND...: COMMAND succeeds and its table has a GPU row (an NVIDIA name).
shows_gpus() {
  local what=$1 out
  shift
  out=$("$@" 2>&1) || die "$what failed: $(tail -n1 <<<"$out")"
  grep -q '^ *[0-9]\+  NVIDIA ' <<<"$out" || die "$what shows no GPU row"
}
step "aarch64 under qemu: --demo --once"
shows_gpus "the aarch64 gputop --demo --once under qemu-aarch64" \
  qemu_arm "$(bin aarch64-unknown-linux-gnu)" --demo --once --color never
step "aarch64 under qemu: --once on tests/fake-nvml"
cargo zigbuild --quiet --locked --target "aarch64-unknown-linux-gnu.$GLIBC_BASELINE" -p fake-nvml ||
  die "building tests/fake-nvml for aarch64 failed"
GPUTOP_NVML_LIB="$TARGET_DIR/aarch64-unknown-linux-gnu/debug/libfake_nvml.so" \
  shows_gpus "the aarch64 gputop --once on the aarch64 fake NVML under qemu-aarch64" \
  qemu_arm "$(bin aarch64-unknown-linux-gnu)" --once --color never

# --- The man page and completions, from the x86_64 binary's own clap definition. ---
host=$(bin x86_64-unknown-linux-gnu)
"$host" man >"$SHARE/gputop.1" || die "'gputop man' failed: this gputop has no man command (issue 31, point 3)"
for shell in bash zsh fish; do
  "$host" completions "$shell" >"$SHARE/completions.$shell" ||
    die "'gputop completions $shell' failed: this gputop has no completions command (issue 31, point 3)"
done
mv "$SHARE/completions.bash" "$SHARE/gputop.bash"
mv "$SHARE/completions.zsh" "$SHARE/_gputop"
mv "$SHARE/completions.fish" "$SHARE/gputop.fish"
gzip -9n <"$SHARE/gputop.1" >"$SHARE/gputop.1.gz"

# --- The systemd units the packages install (not enable): assets/ has them for a manual copy
# to /usr/local/bin; a package's binary is /usr/bin/gputop. ---
for unit in gputop-serve.service gputop-record.service; do
  sed 's|/usr/local/bin/gputop|/usr/bin/gputop|' "assets/$unit" >"$SHARE/$unit"
  grep -q '^ExecStart=/usr/bin/gputop ' "$SHARE/$unit" || die "$unit: no ExecStart=/usr/bin/gputop after the rewrite"
done

# --- The .deb's /usr/share/doc/gputop/copyright (Cargo.toml's [package.metadata.deb]
# license-file; cargo-deb takes a file in Debian's machine-readable format as it is): the dual
# licence, then both texts, each line indented and a blank one as " .", as the format wants. ---
{
  echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  echo "Upstream-Name: gputop"
  echo
  echo "Files: *"
  echo "Copyright: The gputop contributors"
  echo "License: MIT or Apache-2.0"
  for licence in MIT:LICENSE-MIT Apache-2.0:LICENSE-APACHE; do
    echo
    echo "License: ${licence%%:*}"
    sed 's/^[[:space:]]*$/./; s/^/ /' "${licence#*:}"
  done
} >"$SHARE/copyright"

# --- Tarballs: one folder, owned by root, in a fixed order, so they unpack cleanly anywhere.
# The READMEs' links lead to docs/, CHANGELOG.md and the screenshot: all in it too. ---
for t in "${TARGETS[@]}"; do
  name="gputop-$VERSION-$t"
  stage="$SHARE/stage/$name"
  mkdir -p "$stage/completions" "$stage/docs" "$stage/assets"
  install -m755 "$(bin "$t")" "$stage/gputop"
  install -m644 "$SHARE/gputop.1" README.md README.zh-CN.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE "$stage/"
  install -m644 docs/*.md "$stage/docs/"
  install -m644 assets/screenshot.png "$stage/assets/"
  install -m644 "$SHARE/gputop.bash" "$SHARE/_gputop" "$SHARE/gputop.fish" "$stage/completions/"
  tar -C "$SHARE/stage" --sort=name --owner=0 --group=0 --numeric-owner -czf "dist/$name.tar.gz" "$name"
done

# --- .deb and .rpm of the binaries just built (no rebuild, and no strip of cargo-deb's: the
# binary is packaged as the checks above saw it; zig's linker already writes no symbol table,
# so a backtrace names no functions, and a panic's one line is what a report carries). ---
for t in "${TARGETS[@]}"; do
  step "cargo deb / generate-rpm $t"
  cargo deb --quiet --no-build --no-strip --target "$t" --output dist/ || die "cargo deb --target $t failed"
  # xz, not the default zstd: CentOS 7's rpm reads no zstd payload.
  cargo generate-rpm --target "$t" --target-dir "$TARGET_DIR" --payload-compress xz --output dist/ ||
    die "cargo generate-rpm --target $t failed"
done

# --- Wheels: one abi3 wheel per architecture (Python 3.9 and later), manylinux2014. ---
for t in "${TARGETS[@]}"; do
  step "maturin build $t"
  maturin build --quiet --release --locked --zig --compatibility manylinux2014 --target "$t" \
    -m python/Cargo.toml --out dist/ || die "maturin build --target $t failed"
done

# --- Checks. ---
deb_x86="dist/gputop_${VERSION}-1_amd64.deb"
rpm_x86="dist/gputop-${VERSION}-1.x86_64.rpm"
whl_x86=$(ls dist/gputop-"$VERSION"-*manylinux_2_17_x86_64*.whl) || die "no x86_64 manylinux_2_17 wheel in dist/"
whl_arm=$(ls dist/gputop-"$VERSION"-*manylinux_2_17_aarch64*.whl) || die "no aarch64 manylinux_2_17 wheel in dist/"
for f in "dist/gputop-$VERSION-x86_64-unknown-linux-gnu.tar.gz" "dist/gputop-$VERSION-aarch64-unknown-linux-gnu.tar.gz" \
  "$deb_x86" "dist/gputop_${VERSION}-1_arm64.deb" "$rpm_x86" "dist/gputop-${VERSION}-1.aarch64.rpm"; do
  [ -s "$f" ] || die "$f was not written"
done
check="$SHARE/check"
mkdir -p "$check"

# The x86_64 tarball's binary runs, from the unpacked folder, and says its version and commit.
step "check: x86_64 tarball"
tar -C "$check" -xzf "dist/gputop-$VERSION-x86_64-unknown-linux-gnu.tar.gz"
tarbin="$check/gputop-$VERSION-x86_64-unknown-linux-gnu/gputop"
shows_gpus "the x86_64 tarball's gputop --demo --once" "$tarbin" --demo --once --color never
version=$("$tarbin" --version) || die "the x86_64 tarball's gputop --version failed"
[ "$version" = "gputop $VERSION (${GPUTOP_COMMIT:-unknown commit})" ] ||
  die "the x86_64 tarball's gputop --version says '$version', not 'gputop $VERSION (${GPUTOP_COMMIT:-unknown commit})'"
for t in "${TARGETS[@]}"; do
  listing=$(tar -tzf "dist/gputop-$VERSION-$t.tar.gz")
  for f in gputop gputop.1 README.md README.zh-CN.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE docs/reference.md \
    assets/screenshot.png completions/gputop.bash completions/_gputop completions/gputop.fish; do
    grep -qx "gputop-$VERSION-$t/$f" <<<"$listing" || die "the $t tarball lacks $f"
  done
done
# check_links DIR FILE...: every relative link of each Markdown FILE (a path in DIR), [text](path)
# or ![image](path), names a file inside DIR: the shipped READMEs lead nowhere broken.
check_links() {
  local dir file link target resolved
  dir=$(realpath "$1")
  shift
  for file in "$@"; do
    while IFS= read -r link; do
      target=${link%%#*}
      case $target in '' | *://* | mailto:*) continue ;; esac
      resolved=$(realpath -m "$dir/$(dirname "$file")/$target")
      [[ $resolved == "$dir"/* ]] || die "$file's link $link leads out of the unpacked folder"
      [ -f "$resolved" ] || die "$file's link $link names a file the tarball lacks"
    done < <(grep -o '](\([^)]*\))' "$dir/$file" | sed 's/^](//; s/)$//')
  done
}
check_links "$check/gputop-$VERSION-x86_64-unknown-linux-gnu" README.md README.zh-CN.md

# The packages hold every file where it belongs, the .deb's Depends is Cargo.toml's (glibc's
# libc6, as check_needed found), the .rpm requires glibc >= 2.17 and nothing else but rpm's own
# rpmlib() features, and neither has a script that would enable a unit.
deb_depends=$(awk -F'"' '/^\[/ { deb = ($0 == "[package.metadata.deb]") } deb && /^depends *=/ { print $2; exit }' Cargo.toml)
[ -n "$deb_depends" ] || die "no depends in Cargo.toml's [package.metadata.deb]"
common=(/usr/bin/gputop /usr/share/man/man1/gputop.1.gz /usr/share/bash-completion/completions/gputop
  /usr/share/fish/vendor_completions.d/gputop.fish /usr/share/doc/gputop/README.md /usr/share/doc/gputop/CHANGELOG.md
  /usr/share/doc/gputop/README.zh-CN.md /usr/share/doc/gputop/docs/reference.md /usr/share/doc/gputop/assets/screenshot.png)
deb_files=("${common[@]}" /usr/share/zsh/vendor-completions/_gputop /usr/share/doc/gputop/copyright
  /lib/systemd/system/gputop-serve.service /lib/systemd/system/gputop-record.service)
rpm_files=("${common[@]}" /usr/share/zsh/site-functions/_gputop
  /usr/lib/systemd/system/gputop-serve.service /usr/lib/systemd/system/gputop-record.service)
for arch in amd64 arm64; do
  deb="dist/gputop_${VERSION}-1_$arch.deb"
  step "check: $deb"
  listing=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\.||')
  for f in "${deb_files[@]}"; do grep -qx "$f" <<<"$listing" || die "$deb lacks $f"; done
  [ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || die "$deb is not Architecture: $arch"
  depends=$(dpkg-deb -f "$deb" Depends) || die "dpkg-deb -f $deb Depends failed"
  [ "$depends" = "$deb_depends" ] || die "$deb has Depends: '$depends', not Cargo.toml's '$deb_depends'"
  control=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t) || die "reading $deb's control archive failed"
  ! grep -qE '(preinst|postinst|prerm|postrm)$' <<<"$control" || die "$deb has maintainer scripts; its units must stay disabled"
  copyright=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/doc/gputop/copyright) || die "reading $deb's copyright failed"
  for line in "License: MIT or Apache-2.0" "License: MIT" "License: Apache-2.0" " Permission is hereby granted, free of charge," \
    " TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION"; do
    grep -qF -- "$line" <<<"$copyright" || die "$deb's copyright lacks '$line'"
  done
done
for arch in x86_64 aarch64; do
  rpm="dist/gputop-${VERSION}-1.$arch.rpm"
  step "check: $rpm"
  # rpm's stderr stays on: a failing rpm says why, and its exit fails the check.
  listing=$(rpm -qlp "$rpm") || die "rpm -qlp $rpm failed"
  for f in "${rpm_files[@]}"; do grep -qx "$f" <<<"$listing" || die "$rpm lacks $f"; done
  rpm_arch=$(rpm -qp --qf '%{ARCH}' "$rpm") || die "rpm -qp --qf %{ARCH} $rpm failed"
  [ "$rpm_arch" = "$arch" ] || die "$rpm is arch '$rpm_arch', not $arch"
  requires=$(rpm -qp --requires "$rpm") || die "rpm -qp --requires $rpm failed"
  requires=$(awk '!/^rpmlib\(/ { printf "%s%s", sep, $0; sep = ", " }' <<<"$requires")
  [ "$requires" = "glibc >= $GLIBC_BASELINE" ] || die "$rpm requires '$requires', not just 'glibc >= $GLIBC_BASELINE'"
  scripts=$(rpm -qp --scripts "$rpm") || die "rpm -qp --scripts $rpm failed"
  [ -z "$scripts" ] || die "$rpm has scriptlets; its units must stay disabled: $scripts"
done
# The packaged binaries are the ones checked above: dpkg -x the .deb, run it (aarch64 under qemu).
dpkg -x "$deb_x86" "$check/deb-amd64"
shows_gpus "$deb_x86's gputop --demo --once" "$check/deb-amd64/usr/bin/gputop" --demo --once --color never
dpkg -x "dist/gputop_${VERSION}-1_arm64.deb" "$check/deb-arm64"
shows_gpus "the arm64 .deb's gputop --demo --once under qemu-aarch64" \
  qemu_arm "$check/deb-arm64/usr/bin/gputop" --demo --once --color never

# Installed for real, into scratch roots, never into this system. dpkg's database there is a
# copy of this machine's package list, so the .deb's Depends are checked against packages that
# are installed (no --force-depends); it has no maintainer scripts, so nothing runs chrooted.
# The warnings of the copy (no file lists: "assuming package has no files") are left out.
step "check: dpkg -i $deb_x86 into a scratch root, run it, dpkg -r"
droot=$(realpath -m "$check/dpkg-root")
mkdir -p "$droot/var/lib/dpkg/updates" "$droot/var/lib/dpkg/info"
cp /var/lib/dpkg/status "$droot/var/lib/dpkg/status"
: >"$droot/var/lib/dpkg/available"
# dpkg_root ARGS...: dpkg on the scratch root, its own log there too (not /var/log/dpkg.log).
dpkg_root() {
  local out
  out=$(dpkg --root="$droot" --log="$droot/dpkg.log" "$@" 2>&1) ||
    die "dpkg --root=$droot $* failed: $(grep -v 'files list file for package' <<<"$out" | tail -n3 | tr '\n' ' ')"
  grep -v 'files list file for package' <<<"$out" || true
}
dpkg_root -i "$deb_x86" >/dev/null
installed=$(dpkg_root -L gputop) || exit 1 # dpkg_root said why
for f in "${deb_files[@]}"; do grep -qx "$f" <<<"$installed" || die "dpkg -L gputop in the scratch root lacks $f"; done
shows_gpus "the installed .deb's $droot/usr/bin/gputop --demo --once" "$droot/usr/bin/gputop" --demo --once --color never
dpkg_root -r gputop >/dev/null
left=$(find "$droot" -mindepth 1 -not -type d -not -path "$droot/var/lib/dpkg/*" -not -path "$droot/dpkg.log")
[ -z "$left" ] || die "dpkg -r gputop left files behind: $(tr '\n' ' ' <<<"$left")"
! dpkg-query --admindir="$droot/var/lib/dpkg" -W gputop >/dev/null 2>&1 || die "dpkg -r gputop left it in the database"

# rpm into a scratch root with an empty database of its own. --nodeps: that database knows no
# glibc (this is no RPM system), so the one requirement, checked exactly above, cannot be met
# there. Debian's rpm warns at each install or erase without --force-debian, which other rpms
# do not know.
step "check: rpm -i $rpm_x86 into a scratch root, run it, rpm -e"
rroot=$(realpath -m "$check/rpm-root")
rpm_root=(rpm --root "$rroot" --dbpath /var/lib/rpm)
case "$(rpm --help 2>&1)" in *--force-debian*) rpm_debian=(--force-debian) ;; *) rpm_debian=() ;; esac
"${rpm_root[@]}" --initdb || die "rpm --root $rroot --initdb failed"
"${rpm_root[@]}" -i --nodeps "${rpm_debian[@]}" "$rpm_x86" || die "rpm --root $rroot -i --nodeps $rpm_x86 failed"
installed=$("${rpm_root[@]}" -ql gputop) || die "rpm --root $rroot -ql gputop failed"
for f in "${rpm_files[@]}"; do grep -qx "$f" <<<"$installed" || die "rpm -ql gputop in the scratch root lacks $f"; done
shows_gpus "the installed .rpm's $rroot/usr/bin/gputop --demo --once" "$rroot/usr/bin/gputop" --demo --once --color never
"${rpm_root[@]}" -e "${rpm_debian[@]}" gputop || die "rpm --root $rroot -e gputop failed"
left=$(find "$rroot" -mindepth 1 -not -type d -not -path "$rroot/var/lib/rpm/*")
[ -z "$left" ] || die "rpm -e gputop left files behind: $(tr '\n' ' ' <<<"$left")"

# Each wheel's extension module needs glibc 2.17 at most; the x86_64 wheel installs into a fresh
# venv and gives the gputop command and `import gputop`.
for whl in "$whl_x86" "$whl_arm"; do
  so=$(unzip -Z1 "$whl" | grep '^gputop/_native.*\.so$') || die "$whl has no gputop/_native*.so"
  dir="$check/$(basename "$whl" .whl)"
  unzip -q -o -d "$dir" "$whl" "$so"
  case "$whl" in *x86_64*) od=objdump ;; *) od=aarch64-linux-gnu-objdump ;; esac
  check_glibc "$dir/$so" "$od"
  entry_points=$(unzip -p "$whl" '*.dist-info/entry_points.txt')
  grep -q '^gputop *= *gputop._cli:main' <<<"$entry_points" || die "$whl has no gputop command (entry point)"
done
step "check: $whl_x86 in a fresh venv"
python3 -m venv "$check/venv"
"$check/venv/bin/pip" install --quiet --no-index "$whl_x86" || die "pip install $whl_x86 into a fresh venv failed"
shows_gpus "the wheel's gputop command --demo --once" "$check/venv/bin/gputop" --demo --once --color never
"$check/venv/bin/python" -c 'import gputop; print(gputop.query(demo=True))' >"$check/query.txt" ||
  die "the wheel's 'import gputop; gputop.query(demo=True)' failed"
[ -s "$check/query.txt" ] || die "gputop.query(demo=True) printed nothing"

# --- Checksums, then the scratch goes. ---
(cd dist && sha256sum -- *.tar.gz *.deb *.rpm *.whl >SHA256SUMS && sha256sum --quiet -c SHA256SUMS) ||
  die "writing or verifying dist/SHA256SUMS failed"
rm -rf "$SHARE/stage" "$check"

step "done: dist/"
(cd dist && ls -l --block-size=K -- *)
