#!/usr/bin/env bash
# Scaffold a provider adapter: adapters/new-adapter.sh NAME
# Copies adapters/template/ to adapters/NAME (package adapter-NAME, id NAME, built to
# target/adapters/NAME.wasm), fills in the placeholders and adds it to the workspace.
set -euo pipefail

name="${1:-}"
if [[ ! "$name" =~ ^[a-z][a-z0-9]*(-[a-z0-9]+)*$ ]]; then
  echo "usage: $0 NAME   (lower-case kebab-case, e.g. my-upstream)" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="$root/adapters/$name"
if [[ -e "$target" ]]; then
  echo "adapters/$name already exists" >&2
  exit 1
fi

# CamelCase type name: my-upstream -> MyUpstream.
type_name=$(python3 -c 'import sys; print("".join(p.capitalize() for p in sys.argv[1].split("-")))' "$name")

cp -r "$root/adapters/template" "$target"
find "$target" -name '*.tmpl' | while read -r file; do
  sed -e "s/{{name}}/$name/g" -e "s/{{Name}}/$type_name/g" "$file" > "${file%.tmpl}"
  rm "$file"
done

# Add the crate to [workspace] members, just before the list closes.
python3 - "$root/Cargo.toml" "adapters/$name" <<'PY'
import re, sys
path, member = sys.argv[1], sys.argv[2]
text = open(path).read()
match = re.search(r'(members\s*=\s*\[)(.*?)(\n\])', text, re.S)
if f'"{member}"' not in match.group(2):
    text = text[:match.end(2)] + f'\n    "{member}",' + text[match.end(2):]
open(path, "w").write(text)
PY

echo "created adapters/$name (package adapter-$name, id $name)"
echo "next: cargo test -p adapter-$name && just build"
