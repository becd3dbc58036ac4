#!/usr/bin/env bash
# Build every adapter and fixup crate to a component and install it where the host looks:
#   adapter-<id> and fixup-<id>  -> target/adapters/<id>.wasm
#   test-<name> (with --tests)   -> target/test-adapters/test-<name>.wasm
# plus test-stamp built again with feature v2 -> target/test-adapters/test-stamp-v2.wasm.
# rustc's wasm32-wasip2 output is already a component; no wasm-tools step is needed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
with_tests=false
[[ "${1:-}" == "--tests" ]] && with_tests=true

target_dir="${CARGO_TARGET_DIR:-$root/target}"
out="$target_dir/wasm32-wasip2/adapter"
mkdir -p "$target_dir/adapters" "$target_dir/test-adapters"

# Workspace packages whose name marks them as components, from cargo's own view.
packages=$(cargo metadata --no-deps --format-version 1 \
  | python3 -c 'import json,sys; print("\n".join(p["name"] for p in json.load(sys.stdin)["packages"]))' \
  | grep -E '^(adapter|fixup|test)-' || true)

# One cargo call per crate: features of one crate must never leak into another's build.
build() { # package [extra cargo args...]
  local package="$1"; shift
  cargo build --quiet --profile adapter --target wasm32-wasip2 -p "$package" "$@"
}

for package in $packages; do
  file="$out/${package//-/_}.wasm"
  case "$package" in
    adapter-*) build "$package" && cp "$file" "$target_dir/adapters/${package#adapter-}.wasm" ;;
    fixup-*)   build "$package" && cp "$file" "$target_dir/adapters/${package#fixup-}.wasm" ;;
    test-*)
      $with_tests || continue
      if [[ "$package" == test-stamp ]]; then
        build "$package" --features v2 && cp "$file" "$target_dir/test-adapters/test-stamp-v2.wasm"
      fi
      build "$package" && cp "$file" "$target_dir/test-adapters/$package.wasm"
      ;;
  esac
  echo "built $package"
done
