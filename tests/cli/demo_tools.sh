#!/usr/bin/env bash
# demo_tools.sh - fetch-model without the network: the embedded unwrap script equals
# common/cmd/unwrap_nsfwjs.js; the script turns a small synthetic UMD-wrapped quantized
# model (made here, shaped like nsfwjs's dist/models files) into a TF.js folder that
# fetch-model then accepts as "already fetched"; bad UMD files, bad folders, a foreign
# tarball, missing npm. With nsfwjs-4.4.0 already in the npm cache, the real path too.
source "$(dirname "$0")/lib.sh"

check "fetch-model --print-unwrapper" "$FC" fetch-model --print-unwrapper
cmp -s "$T/.out" "$ROOT/common/cmd/unwrap_nsfwjs.js" && ok "embedded script equals common/cmd/unwrap_nsfwjs.js" \
    || fail "embedded script differs from common/cmd/unwrap_nsfwjs.js: regenerate common/cmd/unwrap_nsfwjs.js.h"
cp "$T/.out" "$T/unwrap.js"

expect_exit "no model name" 2 "mobilenet_v2 or inception_v3" "$FC" fetch-model
expect_exit "unknown model name" 2 "mobilenet_v2 or inception_v3" "$FC" fetch-model resnet50 -o "$T/x"

if ! command -v node >/dev/null 2>&1; then
    fail "node is not installed (needed by fetch-model; .ci/install-deps installs it)"
    finish
fi

# A UMD-wrapped model like nsfwjs's: model.min.js exports {modelTopology, weightsManifest},
# each shard module exports its bytes as base64. Weights are uint8-quantized (62 bytes).
SRC="$T/src"
mkdir -p "$SRC"
$PY - "$SRC" <<'EOF'
import base64, json, sys
d = sys.argv[1]
def umd(body, name):
    return ('!function(e){if("object"==typeof exports&&"undefined"!=typeof module)module.exports=e();'
            'else if("function"==typeof define&&define.amd)define([],e);else{("undefined"!=typeof window?window:'
            '"undefined"!=typeof global?global:"undefined"!=typeof self?self:this).%s=e()}}(function(){return %s});'
            % (name, body))
layers = [
    {"name": "input_1", "class_name": "InputLayer", "inbound_nodes": [],
     "config": {"batch_input_shape": [None, 4, 4, 3], "dtype": "float32", "sparse": False, "name": "input_1"}},
    {"name": "conv", "class_name": "Conv2D", "inbound_nodes": [[["input_1", 0, 0, {}]]],
     "config": {"name": "conv", "trainable": False, "filters": 2, "kernel_size": [3, 3], "strides": [1, 1],
                "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1],
                "activation": "linear", "use_bias": True}},
    {"name": "relu", "class_name": "ReLU", "inbound_nodes": [[["conv", 0, 0, {}]]],
     "config": {"name": "relu", "trainable": False, "max_value": None}},
    {"name": "gap", "class_name": "GlobalAveragePooling2D", "inbound_nodes": [[["relu", 0, 0, {}]]],
     "config": {"name": "gap", "trainable": True, "data_format": "channels_last"}},
    {"name": "dense", "class_name": "Dense", "inbound_nodes": [[["gap", 0, 0, {}]]],
     "config": {"name": "dense", "trainable": True, "units": 2, "activation": "softmax", "use_bias": True}},
]
topo = {"keras_version": "2.2.4", "backend": "tensorflow",
        "model_config": {"class_name": "Model", "config": {"name": "m", "layers": layers,
                         "input_layers": [["input_1", 0, 0]], "output_layers": [["dense", 0, 0]]}}}
q = lambda n: {"min": -1.0, "scale": 2.0 / 255, "dtype": "uint8"}
weights = [{"name": "conv/kernel", "shape": [3, 3, 3, 2], "dtype": "float32", "quantization": q(0)},
           {"name": "conv/bias", "shape": [2], "dtype": "float32", "quantization": q(0)},
           {"name": "dense/kernel", "shape": [2, 2], "dtype": "float32", "quantization": q(0)},
           {"name": "dense/bias", "shape": [2], "dtype": "float32", "quantization": q(0)}]
blob = bytes((i * 37 + 11) % 256 for i in range(62))
open(f'{d}/blob', 'wb').write(blob)
model = {"modelTopology": topo, "weightsManifest": [{"paths": ["group1-shard1of2", "group1-shard2of2"], "weights": weights}]}
open(f'{d}/model.min.js', 'w').write(umd(json.dumps(model), 'model'))
for k, part in enumerate([blob[:40], blob[40:]]):
    open(f'{d}/group1-shard{k + 1}of2.min.js', 'w').write(umd(json.dumps(base64.b64encode(part).decode()), f'group1_shard{k + 1}of2'))
EOF
echo "MIT License (test)" >"$T/LICENSE"

OUT="$T/models/mobilenet_v2"
mkdir -p "$T/models"
check "unwrap a synthetic UMD model" node "$T/unwrap.js" "$SRC" "$OUT" "$T/LICENSE"
if $PY - "$OUT" "$SRC" <<'EOF'
import json, sys
out, src = sys.argv[1:]
m = json.load(open(f'{out}/model.json'))
assert m['format'] == 'layers-model'
assert [l['name'] for l in m['modelTopology']['model_config']['config']['layers']] == ['input_1', 'conv', 'relu', 'gap', 'dense']
g = m['weightsManifest'][0]
assert g['paths'] == ['group1-shard1of2.bin', 'group1-shard2of2.bin'], g['paths']
assert g['weights'][0]['quantization']['dtype'] == 'uint8'
data = b''.join(open(f'{out}/{p}', 'rb').read() for p in g['paths'])
assert data == open(f'{src}/blob', 'rb').read()
assert open(f'{out}/LICENSE').read().startswith('MIT License')
EOF
then ok "model.json + shards: same topology, bytes and manifest"; else fail "unwrapped folder is wrong"; fi
# The TF.js importer reads the unwrapped quantized folder: shapes, parameters, frozen flags.
check "featcache layers on the unwrapped folder" "$FC" layers "$OUT"
if grep -Eq '^ +1 +conv +Conv2D +\(4, 4, 2\) +56 .* no$' "$T/.out" && grep -Eq '^ +4 +dense +Dense +\(2\) +6 .* yes$' "$T/.out"; then
    ok "layers: conv (4,4,2) 56 params frozen, dense (2) 6 params trainable"
else fail "layers output unexpected"; sed 's/^/    /' "$T/.out"; fi

# fetch-model accepts the folder as fetched once SOURCE.txt names the pinned package.
pin=$(sed -n 's/^ *"\(sha512-[^"]*\)"$/\1/p' "$ROOT/common/cmd/fetch_model.h")
[ -n "$pin" ] || fail "cannot read the pinned integrity from fetch_model.h"
echo "nsfwjs@4.4.0 dist/models/mobilenet_v2 $pin" >"$OUT/SOURCE.txt"
expect_exit "present folder: no download, summary" 0 "already fetched" \
    env PATH=/nonexistent "$FC" fetch-model mobilenet_v2 -o "$OUT"
grep -q "5 layers, input 4x4x3, weights 0.0 MB (uint8)" "$T/.out" && grep -q "frozen (trainable:false): 2 layers, up to relu" "$T/.out" \
    && ok "summary: layers, input shape, frozen layers" || { fail "summary wrong"; cat "$T/.out"; }
mkdir -p "$T/xdg/featcache/models" && cp -r "$OUT" "$T/xdg/featcache/models/"
expect_exit "default cache dir from XDG_CACHE_HOME" 0 "in $T/xdg/featcache/models/mobilenet_v2" \
    env PATH=/nonexistent XDG_CACHE_HOME="$T/xdg" HOME=/nonexistent "$FC" fetch-model mobilenet_v2
mkdir -p "$T/home/.cache/featcache/models" && cp -r "$OUT" "$T/home/.cache/featcache/models/"
expect_exit "default cache dir from HOME" 0 "in $T/home/.cache/featcache/models/mobilenet_v2" \
    env -u XDG_CACHE_HOME PATH=/nonexistent HOME="$T/home" "$FC" fetch-model mobilenet_v2
expect_exit "other model name is not this folder" 1 "does not name nsfwjs@4.4.0 dist/models/inception_v3" \
    env PATH=/nonexistent "$FC" fetch-model inception_v3 -o "$OUT"

# Damaged folders are detected (then a re-fetch is attempted: without npm it fails clearly).
damage() { # NAME FRAGMENT SHELL-CMD (run inside a copy of the folder)
    rm -rf "$T/dmg" && cp -r "$OUT" "$T/dmg" && (cd "$T/dmg" && eval "$3")
    expect_exit "damaged folder: $1" 1 "$2" env PATH=/nonexistent "$FC" fetch-model mobilenet_v2 -o "$T/dmg"
    grep -qF "cannot run npm" "$T/.err" || fail "damaged folder $1: no clear npm-missing message"
}
damage "short shard" "group 0 hold 61 bytes, the manifest needs 62" "head -c 21 group1-shard2of2.bin >s && mv s group1-shard2of2.bin"
damage "missing shard" "missing weight shard" "rm group1-shard1of2.bin"
damage "bad JSON" "bad JSON" "echo '{\"modelTopology\": ' >model.json"
damage "no layers" "no modelTopology" "echo '{\"modelTopology\": {}, \"weightsManifest\": []}' >model.json"
damage "shard name" "bad shard name" "sed -i 's/group1-shard1of2.bin/..\\/x.bin/' model.json"
damage "no licence" "LICENSE: missing" "rm LICENSE"
damage "huge shape" "bad shape" "sed -i 's/\\[3,3,3,2\\]/[3,3,3,99999999]/' model.json"

# Refusals before any download.
mkdir -p "$T/busy" && echo keep >"$T/busy/notes.txt"
expect_exit "folder with other files is refused" 1 "holds other files" \
    env PATH=/nonexistent "$FC" fetch-model mobilenet_v2 -o "$T/busy"
[ "$(cat "$T/busy/notes.txt")" = keep ] && ok "other files untouched" || fail "other files changed"
head -c 5000 /dev/urandom >"$T/fake.tgz"
expect_exit "foreign tarball: integrity mismatch" 1 "integrity mismatch" \
    "$FC" fetch-model mobilenet_v2 -o "$T/fresh" --tarball "$T/fake.tgz"
[ ! -e "$T/fresh" ] && ! ls "$T" | grep -q partial && ok "nothing left behind" || fail "left files: $(ls "$T")"
expect_exit "npm missing" 1 "cannot run npm" env PATH=/nonexistent "$FC" fetch-model mobilenet_v2 -o "$T/fresh"
# Stand-in npm programs: offline (npm's own reason is shown, stack frames dropped) and one
# that "downloads" a foreign tarball (the pinned sha512 refuses it).
mkdir -p "$T/offline" "$T/foreign"
printf '%s\n' '#!/bin/sh' 'echo "npm error code ECONNREFUSED"' \
    'echo "npm error     at ClientRequest.<anonymous> (index.js:130:14)"' \
    'echo "npm error FetchError: request to https://registry.npmjs.org/nsfwjs failed"' 'exit 1' >"$T/offline/npm"
printf '%s\n' '#!/bin/sh' '[ "$1 $2" = "pack nsfwjs@4.4.0" ] || { echo "unexpected arguments: $*"; exit 3; }' \
    'head -c 3000 /dev/urandom >nsfwjs-4.4.0.tgz' >"$T/foreign/npm"
chmod +x "$T/offline/npm" "$T/foreign/npm"
expect_exit "offline: npm's reason, no stack" 1 "npm pack failed (exit 1): npm error code ECONNREFUSED; npm error FetchError" \
    env PATH="$T/offline:$PATH" "$FC" fetch-model mobilenet_v2 -o "$T/fresh"
grep -q "ClientRequest" "$T/.err" && fail "offline message keeps a stack frame" || ok "offline message without stack frames"
expect_exit "npm pack of a foreign tarball: integrity mismatch" 1 "integrity mismatch" \
    env PATH="$T/foreign:$PATH" "$FC" fetch-model mobilenet_v2 -o "$T/fresh"
[ ! -e "$T/fresh" ] && ok "nothing installed after a refused download" || fail "$T/fresh was created"

# The unwrap script on bad UMD input: exit 1 with a message naming the file.
bad_umd() { # NAME FRAGMENT FILE CONTENT
    rm -rf "$T/bsrc" "$T/bout" && cp -r "$SRC" "$T/bsrc" && printf '%s' "$4" >"$T/bsrc/$3"
    expect_exit "unwrap: $1" 1 "$2" node "$T/unwrap.js" "$T/bsrc" "$T/bout"
}
bad_umd "throwing module" "not a loadable UMD module" model.min.js 'throw new Error("boom")'
bad_umd "syntax error" "not a loadable UMD module" model.min.js '!function(e){module.exports=e()}(function(){return {'
bad_umd "exports nothing" "does not export {modelTopology, weightsManifest}" model.min.js 'var x = 1;'
bad_umd "no require in sandbox" "not a loadable UMD module" model.min.js 'module.exports=require("fs")'
bad_umd "shard not base64" "does not export a base64 string" group1-shard1of2.min.js 'module.exports="%%%"'
bad_umd "shard too short" "shards hold 61 bytes but the weights need 62" group1-shard2of2.min.js \
    "module.exports=\"$(head -c 21 "$SRC/blob" | tail -c 21 | base64 -w0)\""
bad_umd "unsafe shard name" "unsafe shard name" model.min.js \
    'module.exports={modelTopology:{},weightsManifest:[{paths:["../evil"],weights:[]}]}'
bad_umd "missing shard" "cannot read" model.min.js \
    'module.exports={modelTopology:{},weightsManifest:[{paths:["nope"],weights:[]}]}'
expect_exit "unwrap: output exists" 1 "already exists" node "$T/unwrap.js" "$SRC" "$OUT"

# The real package, only when npm already has it cached (never downloads in tests).
if (cd "$T" && npm pack --offline --loglevel=error nsfwjs@4.4.0 >/dev/null 2>&1); then
    check "real nsfwjs tarball (npm cache): mobilenet_v2" "$FC" fetch-model mobilenet_v2 -o "$T/real" --tarball "$T/nsfwjs-4.4.0.tgz"
    grep -q "162 layers, input 224x224x3" "$T/.out" && grep -q "up to block_10_project_BN" "$T/.out" \
        && ok "real mobilenet_v2 summary" || { fail "real summary"; cat "$T/.out"; }
else
    echo "# nsfwjs-4.4.0 not in the npm cache: real-package check skipped"
fi
finish
