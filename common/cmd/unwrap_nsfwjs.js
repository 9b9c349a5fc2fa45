// unwrap_nsfwjs.js - turns one nsfwjs model folder (dist/models/NAME/*.min.js: UMD
// modules, model.min.js exporting {modelTopology, weightsManifest}, each
// group1-shardKofN.min.js exporting its weights as a base64 string) into a plain TF.js
// layers-model folder: model.json + group1-shardKofN.bin (+ LICENSE when given).
// The modules are evaluated in an empty vm context (no require, no process, no fs).
// Usage: node unwrap_nsfwjs.js SRC_DIR OUT_DIR [LICENSE]   (OUT_DIR must not exist)
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');

function die(msg) {
  process.stderr.write('unwrap_nsfwjs: ' + msg + '\n');
  process.exit(1);
}

function loadModule(file) {
  let src;
  try {
    src = fs.readFileSync(file, 'utf8');
  } catch (e) {
    die(file + ': cannot read: ' + e.message);
  }
  const module = { exports: {} };
  const ctx = vm.createContext({ module: module, exports: module.exports });
  try {
    vm.runInContext(src, ctx, { filename: file, timeout: 60000 });
  } catch (e) {
    die(file + ': not a loadable UMD module: ' + e.message);
  }
  return module.exports;
}

const DTYPE_BYTES = { float32: 4, int32: 4, uint16: 2, uint8: 1, float16: 2, bool: 1 };

function weightBytes(w, where) {
  if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape)) die(where + ': bad weight entry');
  const dt = (w.quantization && w.quantization.dtype) || w.dtype;
  if (!(dt in DTYPE_BYTES)) die(where + ': weight ' + w.name + ' has unknown dtype ' + dt);
  let n = 1;
  for (const d of w.shape) {
    if (!Number.isInteger(d) || d < 0 || d > 1 << 24) die(where + ': weight ' + w.name + ' has a bad shape');
    n *= d;
  }
  if (n > 1 << 30) die(where + ': weight ' + w.name + ' is too large');
  return n * DTYPE_BYTES[dt];
}

function main(argv) {
  if (argv.length < 2 || argv.length > 3) die('usage: node unwrap_nsfwjs.js SRC_DIR OUT_DIR [LICENSE]');
  const [src, out, license] = argv;
  const modelFile = path.join(src, 'model.min.js');
  const model = loadModule(modelFile);
  if (!model || typeof model !== 'object' || !model.modelTopology || !Array.isArray(model.weightsManifest))
    die(modelFile + ': does not export {modelTopology, weightsManifest}');
  fs.mkdirSync(out);
  const manifest = [];
  for (const [gi, group] of model.weightsManifest.entries()) {
    const where = modelFile + ': weightsManifest[' + gi + ']';
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) die(where + ': bad group');
    const want = group.weights.reduce((s, w) => s + weightBytes(w, where), 0);
    let got = 0;
    const paths = [];
    for (const p of group.paths) {
      if (typeof p !== 'string' || !/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(p) || p.endsWith('.js'))
        die(where + ': unsafe shard name ' + JSON.stringify(p));
      const shardFile = path.join(src, p + '.min.js');
      const b64 = loadModule(shardFile);
      if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0)
        die(shardFile + ': does not export a base64 string');
      const bytes = Buffer.from(b64, 'base64');
      fs.writeFileSync(path.join(out, p + '.bin'), bytes);
      got += bytes.length;
      paths.push(p + '.bin');
    }
    if (got !== want)
      die(where + ': shards hold ' + got + ' bytes but the weights need ' + want);
    manifest.push({ paths: paths, weights: group.weights });
  }
  const json = {
    format: 'layers-model',
    generatedBy: 'nsfwjs',
    convertedBy: 'featcache unwrap_nsfwjs.js',
    modelTopology: model.modelTopology,
    weightsManifest: manifest,
  };
  fs.writeFileSync(path.join(out, 'model.json'), JSON.stringify(json));
  if (license) fs.copyFileSync(license, path.join(out, 'LICENSE'));
}

try {
  main(process.argv.slice(2));
} catch (e) {
  die(e.message);
}
