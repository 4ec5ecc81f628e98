#!/usr/bin/env bash
# Makes Jazzer.js's native addon load on this machine. The prebuilt
# node_modules/@jazzer.js/fuzzer/prebuilds/fuzzer-linux-x64.node (v4.0.0) is linked against glibc 2.38
# and GCC 13's libstdc++, and needs exactly three symbols that Debian 12 (glibc 2.36, GCC 12) lacks:
#   __isoc23_strtol, __isoc23_strtoul   (GLIBC_2.38: C23 strtol/strtoul, same behaviour for base != 0b)
#   std::ios_base_library_init()        (GLIBCXX_3.4.32: only referenced to pull in iostream init)
# If the prebuilt loads, nothing is done. Otherwise a copy is patched in .cache/jazzer/ (node_modules is
# never modified): the three symbols lose their version (patchelf --clear-symbol-version), the two
# version requirements are marked weak (scripts/elf-weaken-version.mjs), and a tiny C shim providing the
# three functions is linked in with patchelf --add-needed (found through RUNPATH $ORIGIN).
# scripts/jazzer-addon-redirect.cjs (preloaded by the fuzz scripts) makes Jazzer.js load that copy.
# Idempotent; needs gcc, and patchelf (installed with apt-get when missing and running as root).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
platform=$(node -p 'process.platform + "-" + process.arch')
# @jazzer.js/fuzzer as @jazzer.js/core resolves it (hoisted or nested).
prebuilt=$(node -p 'const { dirname, join } = require("node:path"); const core = dirname(require.resolve("@jazzer.js/core/package.json")); join(dirname(require.resolve("@jazzer.js/fuzzer/package.json", { paths: [core] })), "prebuilds")')/fuzzer-$platform.node
out=$root/.cache/jazzer
patched=$out/fuzzer-$platform.node

loads() { node -e 'require(process.argv[1])' "$1" >/dev/null 2>&1; }

if loads "$prebuilt"; then
  rm -f "$patched"
  exit 0
fi
if [ -f "$patched" ] && loads "$patched"; then
  exit 0
fi
if [ "$platform" != "linux-x64" ]; then
  echo "jazzer-glibc-shim: the Jazzer.js addon does not load on $platform and only linux-x64 is handled" >&2
  node -e 'require(process.argv[1])' "$prebuilt" || true
  exit 1
fi
if ! command -v patchelf >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "jazzer-glibc-shim: installing patchelf (apt-get)" >&2
    apt-get install -y --no-install-recommends patchelf >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y --no-install-recommends patchelf >/dev/null; }
  else
    echo "jazzer-glibc-shim: patchelf is needed (apt-get install patchelf)" >&2
    exit 1
  fi
fi
mkdir -p "$out"
cat >"$out/jazzer-glibc-shim.c" <<'C'
/* The C23 names glibc 2.38 gives strtol/strtoul (they also accept a 0b prefix with base 0 or 2). */
#include <stdlib.h>
long __isoc23_strtol(const char *s, char **end, int base) { return strtol(s, end, base); }
unsigned long __isoc23_strtoul(const char *s, char **end, int base) { return strtoul(s, end, base); }
/* GCC 13's <iostream> references std::ios_base_library_init() instead of a per-file ios_base::Init. */
extern void _ZNSt8ios_base4InitC1Ev(void *self);
static char ios_init_storage[16];
void _ZSt21ios_base_library_initv(void) { _ZNSt8ios_base4InitC1Ev(ios_init_storage); }
__attribute__((constructor)) static void init_iostreams(void) { _ZSt21ios_base_library_initv(); }
C
gcc -shared -fPIC -O2 -o "$out/libjazzer-glibc-shim.so" "$out/jazzer-glibc-shim.c" -lstdc++
cp "$prebuilt" "$patched.tmp"
# One operation per patchelf call: patchelf 0.14 mixes up combined --add-needed/--set-rpath.
for symbol in __isoc23_strtol __isoc23_strtoul _ZSt21ios_base_library_initv; do
  patchelf --clear-symbol-version "$symbol" "$patched.tmp"
done
patchelf --add-needed libjazzer-glibc-shim.so "$patched.tmp"
patchelf --set-rpath '$ORIGIN' "$patched.tmp"
node scripts/elf-weaken-version.mjs "$patched.tmp" GLIBC_2.38 >/dev/null
node scripts/elf-weaken-version.mjs "$patched.tmp" GLIBCXX_3.4.32 >/dev/null
mv "$patched.tmp" "$patched"
if ! node -e 'require(process.argv[1])' "$patched"; then
  echo "jazzer-glibc-shim: the patched addon still does not load" >&2
  exit 1
fi
echo "jazzer-glibc-shim: using a patched Jazzer.js addon ($patched)" >&2
