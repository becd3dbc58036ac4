#!/usr/bin/env bash
# Scaffold an adapter crate and add it to the workspace:
#   adapters/new-adapter.sh NAME           a provider: adapters/NAME, package adapter-NAME,
#                                          from adapters/template/{Cargo.toml.tmpl,src}
#   adapters/new-adapter.sh NAME --fixup   a fixup: adapters/fixups/NAME, package fixup-NAME,
#                                          from adapters/template/fixup/
# Either builds to target/adapters/NAME.wasm (adapters/build.sh). Placeholders
# {{name}} (kebab-case id) and {{Name}} (CamelCase type) are filled in.
set -euo pipefail

usage() {
  echo "usage: $0 NAME [--fixup]   (NAME lower-case kebab-case, e.g. my-upstream)" >&2
  exit 2
}
name="${1:-}"
kind=provider
case "${2:-}" in
  "") ;;
  --fixup) kind=fixup ;;
  *) usage ;;
esac
[[ $# -le 2 ]] || usage
[[ "$name" =~ ^[a-z][a-z0-9]*(-[a-z0-9]+)*$ ]] || usage

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ "$kind" == fixup ]]; then
  member="adapters/fixups/$name"
  package="fixup-$name"
  sources=("$root/adapters/template/fixup/Cargo.toml.tmpl" "$root/adapters/template/fixup/src")
else
  member="adapters/$name"
  package="adapter-$name"
  sources=("$root/adapters/template/Cargo.toml.tmpl" "$root/adapters/template/src")
fi
target="$root/$member"
if [[ -e "$target" ]]; then
  echo "$member already exists" >&2
  exit 1
fi

# CamelCase type name: my-upstream -> MyUpstream.
type_name=$(python3 -c 'import sys; print("".join(p.capitalize() for p in sys.argv[1].split("-")))' "$name")

mkdir -p "$target"
cp -r "${sources[@]}" "$target/"
find "$target" -name '*.tmpl' | while read -r file; do
  sed -e "s/{{name}}/$name/g" -e "s/{{Name}}/$type_name/g" "$file" > "${file%.tmpl}"
  rm "$file"
done

# Add the crate to [workspace] members, just before the list closes.
python3 - "$root/Cargo.toml" "$member" <<'PY'
import re, sys
path, member = sys.argv[1], sys.argv[2]
text = open(path).read()
match = re.search(r'(members\s*=\s*\[)(.*?)(\n\])', text, re.S)
if f'"{member}"' not in match.group(2):
    text = text[:match.end(2)] + f'\n    "{member}",' + text[match.end(2):]
open(path, "w").write(text)
PY

echo "created $member (package $package, id $name)"
echo "next: cargo test -p $package && just build"
