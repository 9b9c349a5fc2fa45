// ref.js - optional independent check of the TF.js importer on the real nsfwjs models
// (not part of `make test`: needs `npm install @tensorflow/tfjs@4` and the fetched models).
// Runs a model (cut at LAYER, or '-' for the whole model) with tfjs's CPU backend on two
// seeded random images and writes TAG.in.f32 / TAG.out.f32 into DIR plus a cases.txt line
// for build/tests/tools/model_check:
//   NODE_PATH=/path/to/node_modules node tests/tfjs/ref.js DIR mobilenet_v2 224 - m0 >> DIR/cases.txt
//   build/tests/tools/model_check DIR
// DIR holds the unpacked TF.js folders (DIR/mobilenet_v2/model.json, ...).
const tf = require('@tensorflow/tfjs');
const fs = require('fs'), path = require('path');
async function main() {
  await tf.setBackend('cpu');
  const [dir, name, size, layer, tag] = process.argv.slice(2);
  const mj = JSON.parse(fs.readFileSync(path.join(dir, name, 'model.json')));
  const specs = [], bufs = [];
  for (const g of mj.weightsManifest) { specs.push(...g.weights); for (const p of g.paths) bufs.push(fs.readFileSync(path.join(dir, name, p))); }
  const all = Buffer.concat(bufs);
  const ab = all.buffer.slice(all.byteOffset, all.byteOffset + all.length);
  const model = await tf.loadLayersModel(tf.io.fromMemory({modelTopology: mj.modelTopology, weightSpecs: specs, weightData: ab}));
  const m = layer === '-' ? model : tf.model({inputs: model.inputs, outputs: model.getLayer(layer).output});
  const n = 2, s = +size;
  let seed = 12345; const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const x = new Float32Array(n * s * s * 3); for (let i = 0; i < x.length; i++) x[i] = rnd() * 2 - 1;
  const y = await m.predict(tf.tensor4d(x, [n, s, s, 3])).data();
  fs.writeFileSync(path.join(dir, tag + '.in.f32'), Buffer.from(x.buffer));
  fs.writeFileSync(path.join(dir, tag + '.out.f32'), Buffer.from(y.buffer));
  console.log(`${name} ${layer} ${n} ${s} ${s} 3 0 ${y.length / n} ${tag}.in.f32 ${tag}.out.f32`);
}
main();
