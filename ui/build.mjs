// Builds the page into dist/: the bundle and stylesheet with content hashes in their
// names (assets/NAME-HASH.EXT, cached for good by the host), and index.html naming
// them (never cached). Offline: only esbuild and the packages in node_modules.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { gzipSync } from "node:zlib";

const dist = new URL("./dist/", import.meta.url).pathname;
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist + "assets", { recursive: true });

const result = await build({
  entryPoints: { app: "src/main.js" },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2020"],
  outdir: dist + "assets",
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
const script = outputs.find((name) => name.endsWith(".js"));
const style = outputs.find((name) => name.endsWith(".css"));

const icon = readFileSync("src/icon.svg");
const iconName = `icon-${createHash("sha256").update(icon).digest("hex").slice(0, 8)}.svg`;
writeFileSync(dist + "assets/" + iconName, icon);

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Plugboard</title>
<link rel="icon" href="/ui/assets/${iconName}" type="image/svg+xml">
<link rel="stylesheet" href="/ui/assets/${style}">
<script type="module" src="/ui/assets/${script}"></script>
</head>
<body>
<div id="app"><noscript>This page needs JavaScript.</noscript></div>
</body>
</html>
`;
writeFileSync(dist + "index.html", html);

// Gzipped copies beside the script and stylesheet: the host sends them to browsers
// that accept gzip (every one), so the page travels at a third of its size.
for (const name of [...outputs, iconName]) {
  const bytes = readFileSync(dist + "assets/" + name);
  let line = `dist/assets/${name}  ${(bytes.length / 1024).toFixed(1)} KB`;
  if (!name.endsWith(".svg")) {
    const packed = gzipSync(bytes, { level: 9 });
    writeFileSync(dist + "assets/" + name + ".gz", packed);
    line += `  (gzip ${(packed.length / 1024).toFixed(1)} KB)`;
  }
  console.log(line);
}
