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
  designer: 'src/designer/pages.js',
  dashboard: 'src/dashboard/index.js', // Chart.js charts of the dashboards (drawn from their tables)
};

// The designer's editors: ES modules with code splitting, so dmn-js and the JSON editor load only when a
// DMN or JSON file is opened (<script type="module">; same-origin chunks, fine under script-src 'self').
const moduleEntries = { editor: 'src/designer/editor/index.js' };

// dmn-js's decision tables use selection-ranges, which inlines dom-iterator; dom-iterator compiles string
// expressions with `new Function`, a branch dmn-js never takes (it passes no expression). The branch is
// replaced by an error so that no Function constructor ships; the build fails if the code changed shape.
const SELECTION_RANGES_EVAL = "return new Function('node', 'Object.freeze(node); return ' + props(expr, 'node.'));";
const cspSafeSelectionRanges = {
  name: 'csp-safe-selection-ranges',
  setup(build) {
    build.onLoad({ filter: /[\\/]selection-ranges[\\/]dist[\\/]index\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(SELECTION_RANGES_EVAL)) {
        throw new Error(`${args.path}: the string-expression branch changed; review the CSP patch in build.mjs`);
      }
      return {
        contents: source.replace(SELECTION_RANGES_EVAL, "throw new Error('string expressions are not supported');"),
        loader: 'js',
      };
    });
  },
};

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });

const common = {
  metafile: true,
  absWorkingDir: here,
  bundle: true,
  minify: true,
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  alias: { '@rjsf/validator-ajv8': './src/form/no-ajv.js' },
  sourcemap: 'linked',
  legalComments: 'linked', // <bundle>.LEGAL.txt: the licence notices of the bundled libraries
  logLevel: 'warning',
};
const result = await esbuild.build({ ...common, entryPoints: entries, outdir: out, format: 'iife' });
const modules = await esbuild.build({
  ...common,
  entryPoints: moduleEntries,
  outdir: join(out, 'designer'),
  format: 'esm',
  splitting: true,
  chunkNames: 'chunk-[hash]',
  plugins: [cspSafeSelectionRanges],
});

// One notice file with the licence of every npm package that ended up in a bundle.
const packages = new Map();
for (const input of [...Object.keys(result.metafile.inputs), ...Object.keys(modules.metafile.inputs)]) {
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
// The editors' style sheets: the properties panel, and dmn-js (with the dmn font files, not the embedded one).
await cp(join(here, 'node_modules/@bpmn-io/properties-panel/dist/assets'), join(out, 'properties-panel'), { recursive: true });
await cp(join(here, 'node_modules/dmn-js/dist/assets'), join(out, 'dmn-js'), { recursive: true });

// The CSP forbids eval: refuse to ship a bundle that could need it.
const manifest = {};
const moduleFiles = Object.keys(modules.metafile.outputs)
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.slice(f.indexOf('designer/')));
for (const file of [...Object.keys(entries).map((name) => `${name}.js`), ...moduleFiles]) {
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
const dmnCss = ['dmn-js-shared.css', 'dmn-js-drd.css', 'dmn-js-decision-table.css', 'dmn-js-decision-table-controls.css',
  'dmn-js-literal-expression.css', 'dmn-js-boxed-expression.css', 'dmn-js-boxed-expression-controls.css',
  'dmn-font/css/dmn.css'].map((f) => `dmn-js/${f}`);
for (const css of ['bpmn-js/diagram-js.css', 'bpmn-js/bpmn-js.css', 'bpmn-js/bpmn-font/css/bpmn.css',
  'properties-panel/properties-panel.css', ...dmnCss]) {
  const code = await readFile(join(out, css));
  manifest[css] = { bytes: code.length, hash: createHash('sha256').update(code).digest('hex').slice(0, 12) };
}
await writeFile(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

for (const [file, info] of Object.entries(manifest)) {
  const gz = info.gzip ? `, ${(info.gzip / 1024).toFixed(1)} KiB gzip` : '';
  console.log(`  vendor/${file}  ${(info.bytes / 1024).toFixed(1)} KiB${gz}`);
}
console.log(`built in ${Date.now() - started} ms`);
