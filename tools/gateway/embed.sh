#!/bin/sh
# embed.sh NAME FILE: prints C source defining `const char NAME[]` with
# FILE's bytes (text), so data files such as presets/dev.rules are built
# into the programs instead of being looked up at run time.
set -eu
printf '/* Generated from %s by tools/gateway/embed.sh. */\n' "${2##*/}"
printf 'extern const char %s[];\nconst char %s[] =\n' "$1" "$1"
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$/\\n"/' "$2"
printf '\t"";\n'
