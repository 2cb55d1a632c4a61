#!/usr/bin/env bash
# Builds every on-chain program in programs/ to an SBPF v0 shared object,
# programs/target/deploy/<name>.so, installing first whatever is missing:
#
#   Debian   rustc-web cargo-web libstd-rust-web-dev-bpf
#            (rustc 1.96 on LLVM 22.1, with prebuilt core/alloc for bpfel-unknown-none)
#   crates   sbpf-linker 0.2.6, built against Debian's libLLVM 22 into programs/.tools
#
# Only Debian's packages and crates.io are used (`cargo build-sbf` cannot run here). Installed
# tools are reused on the next run; a fresh machine installs them (about 2.5 minutes).
# programs/README.md says why each piece is what it is.
#
#   scripts/build-programs.sh            install what is missing, build every program
#   scripts/build-programs.sh --test     the same, then the programs' host-side unit tests
#   scripts/build-programs.sh --tools    install what is missing, build nothing
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROGRAMS="$ROOT/programs"
TOOLS="$PROGRAMS/.tools"
SBPF_LINKER_VERSION=0.2.6
LLVM_MAJOR=22
DEB_PACKAGES=(rustc-web cargo-web libstd-rust-web-dev-bpf)
# Debian's toolchain, named explicitly: rustup's rustc/cargo come first on PATH here.
RUSTC=/usr/bin/rustc
RUSTDOC=/usr/bin/rustdoc
CARGO=/usr/bin/cargo
export RUSTC RUSTDOC

mode=build
case "${1:-}" in
    "") ;;
    --test) mode=test ;;
    --tools) mode=tools ;;
    *) echo "usage: $0 [--test|--tools]" >&2; exit 2 ;;
esac

say() { printf '[build-programs] %s\n' "$*" >&2; }
started=$SECONDS

# --- 1. Debian's rustc with core/alloc for bpfel-unknown-none ------------------------------
missing=()
for package in "${DEB_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$package")
done
if ((${#missing[@]})); then
    say "installing Debian packages: ${missing[*]}"
    as_root=()
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null || { say "need root (or sudo) to apt-get install ${missing[*]}"; exit 1; }
        as_root=(sudo)
    fi
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
rustc_version=$("$RUSTC" -vV)
if ! grep -q "^LLVM version: $LLVM_MAJOR\." <<<"$rustc_version"; then
    say "$RUSTC is not on LLVM $LLVM_MAJOR:"; echo "$rustc_version" >&2
    say "sbpf-linker below is built for LLVM $LLVM_MAJOR: update LLVM_MAJOR and programs/README.md together"
    exit 1
fi
[[ -d /usr/lib/rustlib/bpfel-unknown-none/lib ]] || { say "no core/alloc for bpfel-unknown-none"; exit 1; }

# --- 2. sbpf-linker, linked against Debian's libLLVM ----------------------------------------
linker="$TOOLS/bin/sbpf-linker"
linker_ok() {
    local version
    version="$("$linker" --version 2>/dev/null)" || return 1
    grep -q "^sbpf-linker $SBPF_LINKER_VERSION\$" <<<"$version" && grep -q "^LLVM $LLVM_MAJOR\." <<<"$version"
}
if ! linker_ok; then
    libllvm=$(compgen -G "/usr/lib/*-linux-gnu/libLLVM.so.$LLVM_MAJOR.1" | head -n 1 || true)
    [[ -n $libllvm ]] || { say "Debian's libLLVM.so.$LLVM_MAJOR.1 is missing (package libllvm$LLVM_MAJOR)"; exit 1; }
    # bpf-linker's build script links `-lLLVM` from $LLVM_PREFIX/lib: a folder holding only
    # Debian's library (llvm-22-dev, 400 MB, would bring the same file).
    mkdir -p "$TOOLS/llvm-prefix/lib"
    ln -sf "$libllvm" "$TOOLS/llvm-prefix/lib/libLLVM.so"
    say "building sbpf-linker $SBPF_LINKER_VERSION against $libllvm (about 2 minutes)"
    t0=$SECONDS
    LLVM_PREFIX="$TOOLS/llvm-prefix" "$CARGO" install sbpf-linker --version "=$SBPF_LINKER_VERSION" --locked \
        --no-default-features --features bpf-linker/llvm-$LLVM_MAJOR --root "$TOOLS" --force --quiet
    linker_ok || { say "the installed sbpf-linker does not report version $SBPF_LINKER_VERSION on LLVM $LLVM_MAJOR"; exit 1; }
    say "sbpf-linker installed in $((SECONDS - t0)) s"
fi
[[ $mode == tools ]] && { say "tools ready in $((SECONDS - started)) s"; exit 0; }

# --- 3. the programs -----------------------------------------------------------------------
cd "$PROGRAMS"
# The one key that may sign governance's and the registry's first initialize, fixed at build time
# (programs/support/src/deployer.rs): a deployment names its own; unset or empty, the development
# deployer. rustc records the variable it read, so cargo rebuilds when it changes.
if [[ -n ${GRIDMATCH_DEPLOYER:-} ]]; then
    export GRIDMATCH_DEPLOYER
    say "deployer: $GRIDMATCH_DEPLOYER (GRIDMATCH_DEPLOYER)"
else
    unset GRIDMATCH_DEPLOYER
    say "deployer: the development deployer (a deployment sets GRIDMATCH_DEPLOYER=<base58 public key>)"
fi
# Panic messages carry source paths: remap them so that a build is byte-identical wherever the
# checkout and the cargo home are. (--config appends to .cargo/config.toml's rustflags.)
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
remap="['--remap-path-prefix=$PROGRAMS=programs', '--remap-path-prefix=$cargo_home/registry/src=crates']"
t0=$SECONDS
"$CARGO" build --release --locked --target bpfel-unknown-none \
    --config "target.bpfel-unknown-none.rustflags=$remap"
say "programs built in $((SECONDS - t0)) s:"
for so in target/deploy/*.so; do
    printf '  %-40s %7d bytes\n' "programs/$so" "$(stat -c %s "$so")" >&2
done
if [[ $mode == test ]]; then
    say "host-side unit tests"
    "$CARGO" test --locked --quiet
fi
say "done in $((SECONDS - started)) s"
