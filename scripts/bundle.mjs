// Bundles the compiled CLI (dist/src/cli/main.js) into dist/bundle/: loading one file instead of
// ~100 ES modules and their package lookups halves the start-up CPU of `netagent once`, which the
// benchmarks compare with `ss`. Plugin implementations stay lazy (code splitting). The plugin API
// (dist/src/index.js) is a second entry point, bundled with the CLI, so that plugins importing
// 'netagent' share the agent's very tsyringe instance (whose decorators record constructor
// tokens). kafkajs and cron, heavy and loaded only when configured, stay external, as does
// @node-rs/crc32, whose native .node file must load from node_modules.
import { build } from 'esbuild';
import { dirname, relative, resolve } from 'node:path';
import { readFile, rm } from 'node:fs/promises';


const outdir = resolve('dist/bundle');

/** Keeps `new URL('./sample.yaml', import.meta.url)` pointing where it did before bundling. */
const keepModuleUrls = {
  name: 'keep-module-urls',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/](src|plugins)[\\/].*\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return { contents: source, loader: 'js', resolveDir: dirname(args.path) };
      const fromBundle = relative(outdir, args.path).split('\\').join('/');
      const url = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
      return { contents: source.replaceAll('import.meta.url', url), loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: 'dist/src/cli/main.js', api: 'dist/src/index.js' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  external: ['kafkajs', 'cron', '@node-rs/crc32'],
  // CommonJS dependencies inside an ES module bundle still call require().
  banner: { js: "import { createRequire as __netagentRequire } from 'node:module'; const require = __netagentRequire(import.meta.url);" },
  plugins: [keepModuleUrls],
  logLevel: 'warning',
  legalComments: 'none',
});
