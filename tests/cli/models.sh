#!/usr/bin/env bash
# models.sh - model loading end to end: golden Keras/TF.js models written by
# tests/py/make_models.py (numpy reference outputs) run through fc_graph_finalize +
# fc_plan_forward and the naive path (tests/tools/model_check), `featcache layers` output,
# and every bad input as a clear error with exit 1.
. "$(dirname "$0")/lib.sh"
M="$T/models"
if ! "$PY" "$ROOT/tests/py/make_models.py" "$M" >"$T/gen.log" 2>&1; then
    fail "make_models.py"; sed 's/^/    /' "$T/gen.log" | tail -5; finish
fi
ok "make_models.py wrote $(wc -l <"$M/cases.txt") golden cases"

# golden numerics (each case prints its own ok/FAIL line)
"$BUILD/tests/tools/model_check" "$M" 2 2>&1 || true
"$BUILD/tests/tools/model_check" "$M" 1 2>&1 | sed 's/^ok - /ok - 1 thread: /; s/^FAIL - /FAIL - 1 thread: /' || true

# layers: listing, shapes, params, cut, size override, trainable flags
check "layers tiny_vgg" "$FC" layers "$M/tiny_vgg.h5"
grep -q 'block2_pool .* (3, 3, 8) ' "$T/.out" && ok "layers: block2_pool shape" || fail "layers: block2_pool shape"
grep -q 'block1_conv1 .*Conv2D .*(32, 32, 4) .* 112 .* 110592 .*yes' "$T/.out" && ok "layers: conv params/MACs" || fail "layers: conv params/MACs"
grep -q 'dense_2 .*Dense .*(3) ' "$T/.out" && ok "layers: dense shape" || fail "layers: dense shape"
check "layers --layer --size" "$FC" layers "$M/tiny_vgg.h5" --layer block2_pool --size 40x36
grep -q 'input: 40x36x3' "$T/.out" && grep -q 'block2_pool .*(4, 4, 8)' "$T/.out" && ! grep -q dense "$T/.out" \
    && ok "layers: cut + size" || fail "layers: cut + size"
check "layers nested" "$FC" layers "$M/nested.h5"
grep -q 'b_conv2 .* no$' "$T/.out" && grep -q 'dense .* yes$' "$T/.out" && ok "layers: nested frozen base" || fail "layers: nested frozen base"
check "layers tfjs" "$FC" layers "$M/tfjs_mnv2"
grep -q 'block_1_depthwise .*DepthwiseConv2D .*(6, 6, 48)' "$T/.out" && ok "layers: tfjs depthwise" || fail "layers: tfjs depthwise"
# EfficientNet-style layers: Rescaling / Normalization (Keras's parameter count: mean,
# variance, count), the SE gate (Reshape, keepdims, broadcast Multiply), the ELU layer
check "layers effnet_mini" "$FC" layers "$M/effnet_mini.h5"
grep -q 'normalization .*Normalization .*(21, 19, 3) .* 7 .* 1197 ' "$T/.out" && grep -q 'rescaling_1 .*Rescaling .*(21, 19, 3) .* 0 .* 1197 ' "$T/.out" \
    && ok "layers: Rescaling / Normalization shapes, params, MACs" || fail "layers: Rescaling / Normalization"
grep -q 'block1a_se_squeeze .*GlobalAveragePooling2D (8) ' "$T/.out" && grep -q 'block1a_se_reshape .*Reshape .*(1, 1, 8) ' "$T/.out" \
    && grep -q 'block1a_se_reduce .*Conv2D .*(1, 1, 2) .* 18 .* 16 ' "$T/.out" && grep -q 'block1a_se_excite .*Multiply .*(11, 10, 8) ' "$T/.out" \
    && ok "layers: SE block GAP -> Reshape -> Conv -> Multiply" || fail "layers: SE block"
grep -q 'block2a_se_squeeze .*GlobalAveragePooling2D (1, 1, 32) ' "$T/.out" && grep -q 'block2a_dwconv .*DepthwiseConv2D .*(6, 5, 32) ' "$T/.out" \
    && grep -q 'block2b_activation .*ELU .*(6, 5, 48) ' "$T/.out" && grep -q 'vec_gate .*Multiply .*(6, 5, 20) ' "$T/.out" \
    && ok "layers: keepdims GAP, 5x5/2 depthwise, ELU, vector gate" || fail "layers: keepdims / ELU / vector gate"
# hard_sigmoid: the same weights under Keras 3's formula are another backbone (numerics:
# the hsig_* golden cases above)
wsha() { "$FC" layers "$1" 2>/dev/null | sed -n 's/^weights sha256: //p'; }
k2=$(wsha "$M/hsig_k2.h5") tf=$(wsha "$M/hsig_tf.h5") k3=$(wsha "$M/hsig_k3.h5") k3f=$(wsha "$M/hsig_k3_form.h5")
[ -n "$k2" ] && [ "$k2" = "$tf" ] && [ -n "$k3" ] && [ "$k3" = "$k3f" ] && [ "$k2" != "$k3" ] \
    && ok "weights sha256: Keras 2 and tf.keras hard_sigmoid agree, Keras 3's differs" || fail "hard_sigmoid sha256: k2 $k2 tf $tf k3 $k3 k3 form $k3f"
check "layers effnet_mini --size 24x26 --layer top_activation" "$FC" layers "$M/effnet_mini.h5" --size 24x26 --layer top_activation
grep -q 'block2a_dwconv .*(6, 7, 32)' "$T/.out" && ok "layers: EfficientNet at another --size (correct_pad as 'same')" || fail "layers: effnet --size"
if [ -f "$M/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" ]; then
    check "layers weights-only vgg16 (detected)" "$FC" layers "$M/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" --size 150
    grep -q 'block5_pool .*(4, 4, 512)' "$T/.out" && grep -q '14714688 parameters' "$T/.out" && grep -q '(vgg16)' "$T/.out" \
        && ok "layers: vgg16 at 150 -> 4x4x512, 14714688 params" || fail "layers: vgg16 at 150"
    check "layers vgg16:PATH" "$FC" layers "vgg16:$M/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    mkdir -p "$T/home/.keras/models"
    ln -s "$M/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" "$T/home/.keras/models/"
    check "layers vgg16 (bare name, ~/.keras/models)" env HOME="$T/home" KERAS_HOME= "$FC" layers vgg16 --size 150
    grep -q 'block5_pool .*(4, 4, 512)' "$T/.out" && ok "bare vgg16 -> Keras cache file" || fail "bare vgg16 -> Keras cache file"
    expect_exit "bare vgg19 without file" 1 "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5" env HOME="$T/home" KERAS_HOME= "$FC" layers vgg19
    expect_exit "wrong arch for weights" 1 "its layers are vgg16's, not vgg19's: pass -m vgg16:" "$FC" layers "vgg19:$M/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
fi
if [ -f "$M/mobilenet_2_5_224_tf_no_top.h5" ]; then # MobileNet v1, alpha 0.25
    mkdir -p "$T/kh/models"
    ln -s "$M/mobilenet_2_5_224_tf_no_top.h5" "$T/kh/models/mobilenet_1_0_224_tf_no_top.h5"
    check "layers mobilenet (bare name, \$KERAS_HOME/models)" env KERAS_HOME="$T/kh" "$FC" layers mobilenet --size 150
    grep -q 'conv_pw_13_relu .*(4, 4, 256)' "$T/.out" && grep -q '218544 parameters' "$T/.out" && grep -q 'conv_pad_12 ' "$T/.out" \
        && ok "layers: MobileNet v1 alpha 0.25 at 150 -> 4x4x256 (widths from the file), 218544 params" \
        || fail "layers: MobileNet v1 at 150: $(tail -3 "$T/.out")"
    expect_exit "mobilenet_v2:PATH of a v1 file" 1 "its layers are mobilenet's, not mobilenet_v2's" "$FC" layers "mobilenet_v2:$M/mobilenet_2_5_224_tf_no_top.h5"
    check "mobilenet_v1 is mobilenet (bare name)" env KERAS_HOME="$T/kh" "$FC" layers mobilenet_v1 --size 150
    grep -q '218544 parameters' "$T/.out" && ok "... the same file" || fail "mobilenet_v1: $(tail -1 "$T/.out")"
    check "mobilenet_v1:PATH" "$FC" layers "mobilenet_v1:$M/mobilenet_2_5_224_tf_no_top.h5"
fi
# ResNet V2 files share ResNet V1's conv names: named and refused, not built as V1 (which
# failed on a missing conv1_bn weight); a shallower ARCH: on a deeper ResNet is refused
"$PY" - "$T" <<'PYEOF' || fail "ResNet layout files"
import sys, h5py, numpy as np
t = sys.argv[1]
def write(path, names):
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [n.encode() for n in names]
        f.attrs["backend"] = b"tensorflow"
        for n in names:
            f.create_group(n).attrs["weight_names"] = np.array([], dtype="S1")
write(t + "/r50v2.h5", ["input_1", "conv1_conv", "conv2_block1_preact_bn", "conv5_block3_3_conv", "post_bn"])
write(t + "/r152.h5", ["input_1", "conv1_conv", "conv4_block7_3_conv", "conv4_block23_3_conv", "conv4_block36_3_conv",
                       "conv5_block3_3_conv"])
PYEOF
expect_exit "ResNet V2 weights file" 1 "a ResNet V2 weights-only file, which featcache has no built-in topology for" "$FC" layers "$T/r50v2.h5"
expect_exit "ResNet V2 file as resnet50:" 1 "ResNet V2 weights-only file" "$FC" layers "resnet50:$T/r50v2.h5"
expect_exit "resnet101: on a ResNet152 file" 1 "its layers are resnet152's, not resnet101's" "$FC" layers "resnet101:$T/r152.h5"
if [ -f "$M/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5" ]; then
    check "layers inception_v3 mixed7@150" "$FC" layers "$M/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5" --size 150 --layer mixed7
    grep -q 'mixed7 .*Concatenate .*(7, 7, 768)' "$T/.out" && grep -q '(inception_v3)' "$T/.out" \
        && ok "layers: inception_v3 mixed7 at 150 -> 7x7x768" || fail "layers: inception_v3 mixed7 at 150"
fi
expect_exit "unknown arch prefix" 2 "unknown architecture" "$FC" layers "vgg17:$M/tiny_vgg.h5"

# bad inputs: exit 1, message names the file and the problem
B="$M/bad"
expect_exit "missing file" 1 "cannot open" "$FC" layers "$M/no_such_model.h5"
expect_exit "not HDF5" 1 "not an HDF5 file" "$FC" layers "$B/not_hdf5.h5"
expect_exit "truncated HDF5" 1 "truncated" "$FC" layers "$B/truncated.h5"
expect_exit "unknown layer class" 1 "layer 'block2_conv1' has unsupported class 'Lambda'" "$FC" layers "$B/unknown_class.h5"
expect_exit "missing layer class" 1 "has no class_name" "$FC" layers "$B/missing_class.h5"
expect_exit "inbound to a missing layer" 1 "inbound layer 'no_such_layer' does not exist" "$FC" layers "$B/missing_inbound.h5"
expect_exit "cycle" 1 "cycle in the model graph" "$FC" layers "$B/cycle.h5"
expect_exit "channels_first" 1 "channels_first" "$FC" layers "$B/channels_first.h5"
expect_exit "wrong weight shape" 1 "has shape (3, 3, 3, 5), expected (3, 3, 3, 4)" "$FC" layers "$B/wrong_shape.h5"
expect_exit "wrong Dense kernel after Flatten" 1 "has shape (73, 16), expected (72, 16)" "$FC" layers "$B/wrong_dense.h5"
expect_exit "missing weight" 1 "weight 'bias' is missing" "$FC" layers "$B/missing_weight.h5"
expect_exit "two '_N' candidates for one weight: neither taken" 1 "weight 'kernel' is missing" "$FC" layers "$B/ambiguous_weight.h5"
check "layers nested_tf1 (TF1 '_N' weight names)" "$FC" layers "$M/nested_tf1.h5"
expect_exit "huge declared shape" 1 "huge shape" "$FC" layers "$B/huge_shape.h5"
expect_exit "unwritten chunks" 1 "stores only" "$FC" layers "$B/unwritten_chunks.h5"
expect_exit "truncated TF.js shard" 1 "truncated" "$FC" layers "$B/tfjs_truncated"
expect_exit "Reshape to (h*w, c) tokens" 1 "reshape_tokens.h5: layer 'block1a_se_reshape' (Reshape): target_shape of rank 2: only (height, width, channels) maps and (n,) vectors are supported" \
    "$FC" layers "$B/reshape_tokens.h5"
expect_exit "Reshape of a different size" 1 "layer 'block1a_se_reshape' (Reshape): cannot reshape (8) (8 values) to (2, 2, 8)" "$FC" layers "$B/reshape_size.h5"
expect_exit "unsupported activation" 1 "unknown_activation.h5: layer 'zoo_mish' (Conv2D): unsupported activation 'crelu'" "$FC" layers "$B/unknown_activation.h5"
expect_exit "Multiply of shapes that do not broadcast" 1 "layer 'block2a_se_excite' (Multiply): input 'block2a_activation' has shape (6, 5, 32) but 'block2a_expand_activation' has (11, 10, 32)" \
    "$FC" layers "$B/se_broadcast_clash.h5"
expect_exit "unknown --layer" 1 "no layer named 'nope'" "$FC" layers "$M/tiny_vgg.h5" --layer nope
expect_exit "layers without MODEL" 2 "" "$FC" layers
expect_exit "layers unknown option" 2 "" "$FC" layers --bogus "$M/tiny_vgg.h5"
check "layers --help" "$FC" layers --help
expect_exit "bad --size" 2 "bad --size" "$FC" layers "$M/tiny_vgg.h5" --size 0x5
printf 'PK\003\004rest-of-a-zip' >"$T/model.keras"
expect_exit "Keras 3 zip archive" 1 "Keras 3 .keras (zip) archive" "$FC" layers "$T/model.keras"
# a FIFO where a model file should be: refused at once, never a blocking open() (timeout
# only turns a hang into a failure here)
mkfifo "$T/fifo.h5"
expect_exit "Keras model that is a FIFO" 1 "fifo.h5: not a regular file" timeout 30 "$FC" layers "$T/fifo.h5"
cp -r "$M/tfjs_mnv2" "$T/tj_json" && rm "$T/tj_json/model.json" && mkfifo "$T/tj_json/model.json"
expect_exit "TF.js model.json that is a FIFO" 1 "model.json: not a regular file" timeout 30 "$FC" layers "$T/tj_json"
cp -r "$M/tfjs_mnv2" "$T/tj_shard" && shard=$(ls "$T/tj_shard"/*.bin | head -1) && rm "$shard" && mkfifo "$shard"
expect_exit "TF.js weight shard that is a FIFO" 1 "$(basename "$shard"): not a regular file" timeout 30 "$FC" layers "$T/tj_shard"
# a shard listed twice (one 3 KB file read N times, N x the memory): refused
cp -r "$M/tfjs_mnv2" "$T/tj_dup"
"$PY" - "$T/tj_dup/model.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["weightsManifest"].append(dict(paths=[m["weightsManifest"][0]["paths"][0]], weights=[]))
json.dump(m, open(sys.argv[1], "w"))
PY
expect_exit "TF.js shard listed twice" 1 "is listed more than once in weightsManifest" "$FC" layers "$T/tj_dup"
expect_exit "default model not fetched" 1 "featcache fetch-model mobilenet_v2" env XDG_CACHE_HOME="$T/empty-cache" HOME="$T/home" KERAS_HOME= "$FC" layers mobilenet_v2
# The fetched defaults are whole nsfwjs classifiers: without --layer, extract cuts them at
# their conv base (out_relu for mobilenet_v2), not at their classifier output.
mkdir -p "$T/xdg/featcache/models" && cp -r "$M/tfjs_mnv2" "$T/xdg/featcache/models/mobilenet_v2"
"$PY" - "$T/nsimg" <<'PY'
import os, sys
from PIL import Image
for c in ("a", "b"):
    os.makedirs(os.path.join(sys.argv[1], c))
    for i in range(3):
        Image.new("RGB", (30, 30), (40 * i, 90 if c == "a" else 200, 7 * i)).save(os.path.join(sys.argv[1], c, "%d.png" % i))
PY
# over the 65536-channel limit: refused at load naming the layer, before extract makes a store
"$PY" - "$ROOT/tests/py" "$T/dw_mult.h5" <<'PY' || fail "dw_mult fixture"
import sys
sys.path.insert(0, sys.argv[1])
import make_models as mm
n = mm.Net("dw_mult", (4, 4, 3))
n.dwconv("dw", k=1, mult=65536)
mm.write_h5(sys.argv[2], n, False, "k2")
f = mm.Net("flat", (160, 160, 3))
f.add("Flatten", "flatten_1", data_format="channels_last", chan=76800)
mm.write_h5(sys.argv[2].replace("dw_mult", "flat"), f, False, "k2")
PY
expect_exit "layers: DepthwiseConv2D giving 196608 channels" 1 "layer 'dw' (DepthwiseConv2D) gives 196608 channels, over the limit of 65536" \
    "$FC" layers "$T/dw_mult.h5"
expect_exit "extract with it: refused at load, the model named" 1 "dw_mult.h5: layer 'dw' (DepthwiseConv2D) gives 196608 channels" \
    "$FC" extract "$T/nsimg" -m "$T/dw_mult.h5" -o "$T/dw.db" --preprocess rescale -q
[ -e "$T/dw.db" ] && fail "channel limit: a store was left" || ok "channel limit: no store made"
expect_exit "extract cut at a Flatten of 76800 values: refused before a store" 1 "flat.h5: layer 'flatten_1' gives 76800 values per image" \
    "$FC" extract "$T/nsimg" -m "$T/flat.h5" -o "$T/fl.db" --preprocess rescale -q
[ -e "$T/fl.db" ] && fail "long Flatten: a store was left" || ok "long Flatten: no store made"
expect_exit "extract with a refused Reshape: no store" 1 "reshape_tokens.h5: layer 'block1a_se_reshape' (Reshape): target_shape of rank 2" \
    "$FC" extract "$T/nsimg" -m "$B/reshape_tokens.h5" -o "$T/rs.db" --preprocess none -q
[ -e "$T/rs.db" ] && fail "refused Reshape: a store was left" || ok "refused Reshape: no store made"
# Normalization with invert=False and invert=True, the same statistics: other features, so
# another weights sha256 and fingerprint; a store made with one refuses the other
"$PY" - "$ROOT/tests/py" "$T" <<'PY' || fail "norm_inv fixtures"
import sys
sys.path.insert(0, sys.argv[1])
import make_models as mm
for inv in (0, 1):
    n = mm.Net("norm_inv", (8, 8, 3))
    n.add("Normalization", "norm", axis=-1, invert=bool(inv), mean=[0.4, 0.5, 0.6], variance=[0.04, 0.09, 0.16])
    n.add("GlobalAveragePooling2D", "gap", data_format="channels_last")
    mm.write_h5("%s/norm_inv%d.h5" % (sys.argv[2], inv), n, False, "tf")
PY
s0=$(wsha "$T/norm_inv0.h5") s1=$(wsha "$T/norm_inv1.h5")
[ -n "$s0" ] && [ -n "$s1" ] && [ "$s0" != "$s1" ] && ok "Normalization invert=False / True: two weights sha256s" \
    || fail "Normalization invert: weights sha256 '$s0' / '$s1'"
expect_exit "extract with Normalization(invert=False)" 0 "stored 6" "$FC" extract "$T/nsimg" -m "$T/norm_inv0.h5" -o "$T/ni.db" --preprocess rescale
cp "$T/ni.db" "$T/ni.before"
expect_exit "... extract with invert=True into that store: refused" 1 "model weights (sha256)" \
    "$FC" extract "$T/nsimg" -m "$T/norm_inv1.h5" -o "$T/ni.db" --preprocess rescale -q
cmp -s "$T/ni.db" "$T/ni.before" && ok "... the store left unchanged" || fail "a refused extract changed the store"
expect_exit "extract -m mobilenet_v2 (fetched default) without --layer: its conv base" 0 "layer out_relu by default" \
    env XDG_CACHE_HOME="$T/xdg" "$FC" extract "$T/nsimg" -m mobilenet_v2 -o "$T/ns.db"
grep -q "layer out_relu, input 24x24 -> 6x6x32" "$T/.out" && ok "... stores out_relu maps (6x6x32)" || fail "default cut: $(grep backbone "$T/.out")"
expect_exit "extract -m mobilenet_v2 --layer dense_1: the classifier output when asked" 0 "layer dense_1, input 24x24 -> (2), a vector" \
    env XDG_CACHE_HOME="$T/xdg" "$FC" extract "$T/nsimg" -m mobilenet_v2 -o "$T/ns2.db" --layer dense_1
grep -q "by default" "$T/.err" && fail "default-layer note with --layer" || ok "no default-layer note with --layer"
expect_exit "a model file without --layer: its output" 0 "layer dense_1" "$FC" extract "$T/nsimg" -m "$M/tfjs_mnv2" -o "$T/ns3.db" --preprocess rescale
# the fetched default given by its folder (the path fetch-model prints) or a copy of it is
# the same model as its name: same cut, preprocessing and fingerprint (review 12 B F5: the
# path cut at the 5-class classifier and stored its probabilities)
expect_exit "extract -m CACHE/mobilenet_v2 (the fetched folder): its conv base" 0 "layer out_relu by default" \
    env XDG_CACHE_HOME="$T/xdg" "$FC" extract "$T/nsimg" -m "$T/xdg/featcache/models/mobilenet_v2" -o "$T/ns4.db"
grep -q "backbone: nsfwjs_mobilenet_v2 .*layer out_relu, input 24x24 -> 6x6x32; preprocessing rescale (default" "$T/.out" \
    && ok "... out_relu maps, nsfwjs preprocessing" || fail "fetched folder: $(grep backbone "$T/.out")"
cp -r "$T/xdg/featcache/models/mobilenet_v2" "$T/mcopy"
expect_exit "extract -m COPY/model.json (a copy of the fetched model)" 0 "layer out_relu by default" \
    env XDG_CACHE_HOME="$T/xdg" "$FC" extract "$T/nsimg" -m "$T/mcopy/model.json" -o "$T/ns5.db"
expect_exit "... the three spellings merge as one backbone" 0 "3 stores" \
    "$FC" merge -o "$T/ns_all.db" "$T/ns.db" "$T/ns4.db" "$T/ns5.db"
grep -q "0 label conflicts" "$T/.out" && ok "... every image a duplicate" || fail "merge: $(tail -1 "$T/.out")"
# layers agrees with extract (review 9: `layers inception_v3 --size 150` failed on nsfwjs's
# Flatten where extract worked): with --size, the fetched default is listed up to the cut
# extract makes; without, the whole classifier with that cut named
expect_exit "layers mobilenet_v2 --size 32 (fetched default): its conv base" 0 "cut: out_relu, extract's default" \
    env XDG_CACHE_HOME="$T/xdg" "$FC" layers mobilenet_v2 --size 32
grep -q 'out_relu .*(8, 8, 32)' "$T/.out" && ! grep -q 'dense_1' "$T/.out" && ok "... listed up to out_relu at 32x32" \
    || fail "layers --size on the default: $(tail -3 "$T/.out")"
expect_exit "layers mobilenet_v2 (fetched default): the whole model, the default cut named" 0 "extract's default cut: out_relu" \
    env XDG_CACHE_HOME="$T/xdg" "$FC" layers mobilenet_v2
grep -q 'dense_1 ' "$T/.out" && ok "... classifier layers listed" || fail "layers default: $(tail -3 "$T/.out")"
check "layers mobilenet_v2 --size 32 --layer dense_1: the cut asked for" env XDG_CACHE_HOME="$T/xdg" "$FC" layers mobilenet_v2 --size 32 --layer dense_1
grep -q 'dense_1 ' "$T/.out" && ! grep -q "^cut:" "$T/.out" && ok "... no default cut with --layer" || fail "layers --layer: $(head -5 "$T/.out")"
check "layers of a model file: no default cut" "$FC" layers "$M/tfjs_mnv2" --size 32
grep -q 'dense_1 ' "$T/.out" && ! grep -q "default" "$T/.out" && ok "... whole model listed" || fail "model file: $(head -5 "$T/.out")"

for f in "$B"/*.h5; do # never a crash, whatever the damage
    "$FC" layers "$f" >/dev/null 2>&1; rc=$?
    [ "$rc" -eq 1 ] || fail "$(basename "$f"): exit $rc"
done
finish
