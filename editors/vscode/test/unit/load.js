// Bundles a TypeScript module of src/ (one without `vscode` imports) for a plain Node test.
'use strict';
const path = require('path');
const esbuild = require('esbuild');
const Module = require('module');

module.exports = function load(name) {
  const file = path.join(__dirname, '..', '..', 'src', `${name}.ts`);
  const out = esbuild.buildSync({ entryPoints: [file], bundle: true, platform: 'node', format: 'cjs', write: false, external: ['vscode'] });
  const m = new Module(file);
  m.paths = module.paths;
  m._compile(out.outputFiles[0].text, file);
  return m.exports;
};
