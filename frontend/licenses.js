// Prints the licence notices of every package bundled into static/vendor/editor.js.
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "node_modules");
const seen = [];
for (const scope of fs.readdirSync(root)) {
  const dirs = scope.startsWith("@")
    ? fs.readdirSync(path.join(root, scope)).map((n) => path.join(scope, n))
    : [scope];
  for (const dir of dirs) {
    const pkgFile = path.join(root, dir, "package.json");
    if (!fs.existsSync(pkgFile) || dir.startsWith(".") || dir.includes("esbuild")) { continue; }
    const pkg = JSON.parse(fs.readFileSync(pkgFile, "utf8"));
    const licence = fs.readdirSync(path.join(root, dir)).find((n) => /^licen[cs]e/i.test(n));
    seen.push({ name: pkg.name, version: pkg.version, license: pkg.license,
                text: licence ? fs.readFileSync(path.join(root, dir, licence), "utf8").trim() : "" });
  }
}
seen.sort((a, b) => a.name.localeCompare(b.name));
console.log("Licences of the packages bundled into editor.js (built by scripts/build-frontend).\n");
for (const p of seen) {
  console.log("=".repeat(72));
  console.log(`${p.name} ${p.version} (${p.license})`);
  console.log("=".repeat(72));
  console.log(p.text || "(no licence file shipped; licence field above)");
  console.log("");
}
