// Builds the browser bundles into ../static/vendor/ (see README.md). Run through `npm run build` or build.sh.
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, '../static/vendor');
const started = Date.now();

const entries = {
  form: 'src/form/index.jsx',
  diagram: 'src/diagram/index.js',
  app: 'src/app/index.js',
};

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });

const result = await esbuild.build({
  metafile: true,
  absWorkingDir: here,
  entryPoints: entries,
  outdir: out,
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  alias: { '@rjsf/validator-ajv8': './src/form/no-ajv.js' },
  sourcemap: 'linked',
  legalComments: 'linked', // <bundle>.LEGAL.txt: the licence notices of the bundled libraries
  logLevel: 'warning',
});

// One notice file with the licence of every npm package that ended up in a bundle.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m) packages.set(m[1], join(here, 'node_modules', m[1]));
}
const notices = [];
for (const [name, dir] of [...packages].sort()) {
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
  const licenceFile = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license', 'LICENCE']
    .map((f) => join(dir, f));
  let text = '';
  for (const f of licenceFile) {
    text = await readFile(f, 'utf8').catch(() => '');
    if (text) break;
  }
  notices.push(`${name}@${pkg.version} (${pkg.license})\n\n${text.trim()}\n`);
}
await writeFile(join(out, 'THIRD-PARTY-LICENSES.txt'), notices.join(`\n${'-'.repeat(72)}\n\n`));

// bpmn-js's own style sheets (and the bpmn font that bpmn.css refers to).
await cp(join(here, 'node_modules/bpmn-js/dist/assets'), join(out, 'bpmn-js'), { recursive: true });

// The CSP forbids eval: refuse to ship a bundle that could need it.
const manifest = {};
for (const name of Object.keys(entries)) {
  const file = `${name}.js`;
  const code = await readFile(join(out, file), 'utf8');
  const hit = /\bnew Function\s*\(|[^.\w$]eval\s*\(|\bsetTimeout\s*\(\s*["'`]/.exec(code);
  if (hit) {
    throw new Error(`${file} contains ${JSON.stringify(hit[0])} near offset ${hit.index}: not allowed by the CSP`);
  }
  manifest[file] = {
    bytes: Buffer.byteLength(code),
    gzip: gzipSync(code).length,
    hash: createHash('sha256').update(code).digest('hex').slice(0, 12), // for cache-busting query strings
  };
}
for (const css of ['bpmn-js/diagram-js.css', 'bpmn-js/bpmn-js.css', 'bpmn-js/bpmn-font/css/bpmn.css']) {
  const code = await readFile(join(out, css));
  manifest[css] = { bytes: code.length, hash: createHash('sha256').update(code).digest('hex').slice(0, 12) };
}
await writeFile(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

for (const [file, info] of Object.entries(manifest)) {
  const gz = info.gzip ? `, ${(info.gzip / 1024).toFixed(1)} KiB gzip` : '';
  console.log(`  vendor/${file}  ${(info.bytes / 1024).toFixed(1)} KiB${gz}`);
}
console.log(`built in ${Date.now() - started} ms`);
