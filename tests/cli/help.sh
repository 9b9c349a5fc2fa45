#!/usr/bin/env bash
# help.sh - every command's --help: exit 0 on stdout, each option listed, the text wrapped
# to 88 columns (the usage line aside), long option names with their help on the next line.
source "$(dirname "$0")/lib.sh"
cmds=$("$FC" --help 2>&1 | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1}')
[ "$(echo "$cmds" | wc -w)" -ge 15 ] && ok "featcache --help lists the commands" || fail "commands: $cmds"
for c in $cmds; do
    if ! "$FC" "$c" --help >"$T/h.txt" 2>"$T/h.err" || [ -s "$T/h.err" ]; then fail "$c --help: exit or stderr"; continue; fi
    long=$(grep -v '^usage:' "$T/h.txt" | awk 'length($0) > 88')
    # no stray one-word line in the summary (a manual line break re-wrapped)
    long+=$(sed -n '3,/^options:/p' "$T/h.txt" | awk 'NF == 1 && $1 != "options:"')
    head -1 "$T/h.txt" | grep -q "^usage: featcache $c " && [ -z "$long" ] && grep -q -- "-h, --help" "$T/h.txt" \
        && ok "$c --help: usage, wrapped text" || fail "$c --help: $(head -1 "$T/h.txt") / $long"
done
"$FC" train --help >"$T/h.txt"
grep -q '^      --activation relu|tanh|sigmoid|linear$' "$T/h.txt" && grep -q '^ \{33\}hidden activation' "$T/h.txt" \
    && ok "a long option's help on its own line, aligned" || fail "long option: $(grep -A1 activation "$T/h.txt")"
# a usage line names every value of an enumerated option, as the README's synopsis does
"$FC" export --help | head -1 | grep -q -- '\[--dtype float32|float16\]' \
    && ok "export usage: --dtype float32|float16" || fail "export usage: $("$FC" export --help | head -1)"
# typos get the nearest name (review 12 B F9)
expect_exit "a mistyped command" 2 "'trian' is not a featcache command (did you mean 'train'?)" "$FC" trian x.db
expect_exit "a mistyped option" 2 "unknown option '--epoch' (did you mean '--epochs'?)" "$FC" train x.db -o h.h5 --epoch 3
expect_exit "Keras's word for an option" 2 "unknown option '--pooling' (did you mean '--pool'?)" "$FC" train x.db -o h.h5 --pooling gap
expect_exit "an option's name cut short" 2 "unknown option '--optim' (did you mean '--optimizer'?)" "$FC" sweep x.db -o r.csv --optim adam
expect_exit "a longer name: the longest option it starts with" 2 "unknown option '--augment-seed-value' (did you mean '--augment-seed'?)" \
    "$FC" extract d -m x.h5 -o y.db --augment-seed-value 3
expect_exit "an unknown option far from any" 2 "unknown option '--zzzzzz'" "$FC" train x.db -o h.h5 --zzzzzz 3
grep -q "did you mean" "$T/.err" && fail "a hint for a far-off option" || ok "... no hint for it"
expect_exit "a mistyped model name" 1 "mobilenet_v3: no such model file, nor a model name featcache knows (did you mean 'mobilenet_v2'?" \
    "$FC" layers mobilenet_v3
finish
