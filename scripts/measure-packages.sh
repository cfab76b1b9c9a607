#!/usr/bin/env bash
# How long packages take to travel, for a project with 10 npm dependencies (issue 9):
#  - `stubrun app.ts` against a fresh server: the first run packs, uploads and links the packages;
#    the second finds them on the server;
#  - beside it, the two other ways the packages could have travelled: a lockfile-pinned `npm ci`
#    where the workers run (warm and cold npm cache), and one bundle made with esbuild.
# Usage: scripts/measure-packages.sh   (needs the npm registry; prints one line per figure)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/packages/stubrun/bin/stubrun.js"
WORK="$(mktemp -d /tmp/stubrun-measure-packages-XXXXXX)"
trap 'STUBRUN_HOME=$WORK/home node "$BIN" server stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
DEPS=(lodash@4.17.21 dayjs@1.11.13 uuid@9.0.1 zod@3.23.8 ms@2.1.3 semver@7.6.3 left-pad@1.3.0 is-odd@3.0.1 chalk@4.1.2 nanoid@3.3.7)

mkdir -p "$WORK/project"
cd "$WORK/project"
echo '{ "name": "ten-deps", "private": true }' > package.json
npm install --no-audit --no-fund --loglevel=error "${DEPS[@]}" >/dev/null
cat > app.ts <<'TS'
import { Stub, fn } from "stubrun";
import _ from "lodash";
import dayjs from "dayjs";
import { v4 } from "uuid";
import { z } from "zod";
import ms from "ms";
import semver from "semver";
import leftPad from "left-pad";
import isOdd from "is-odd";
import chalk from "chalk";
import { nanoid } from "nanoid";

const stub = new Stub("ten-deps");

class Ten {
  @stub.function()
  use(): string {
    return [_.chunk([1, 2, 3], 2).length, dayjs(0).year(), v4().length, z.string().parse("z"), ms("1s"), semver.valid("1.2.3"), leftPad("1", 3), isOdd(1), chalk.level >= 0, nanoid().length].join(",");
  }

  @stub.localEntrypoint()
  async main() {
    console.log(await fn(this.use).remote());
  }
}
TS
files=$(find node_modules -type f | wc -l); bytes=$(du -sk node_modules | cut -f1)
echo "project: 10 dependencies, $(ls node_modules | grep -v '^\.' | wc -l) packages installed, $files files, ${bytes} kB"

export STUBRUN_HOME="$WORK/home" STUBRUN_SERVER_URL="http://127.0.0.1:$((20000 + RANDOM % 20000))"
node "$BIN" server start >/dev/null 2>&1
ms() { local s=$(date +%s%N); "$@" >/dev/null 2>&1; echo $(( ($(date +%s%N) - s) / 1000000 )); }
node "$BIN" app.ts 2>/dev/null | grep -q "2,1970" || { echo "the run did not answer as expected"; node "$BIN" app.ts; exit 1; }
node "$BIN" server stop >/dev/null 2>&1; rm -rf "$STUBRUN_HOME"; node "$BIN" server start >/dev/null 2>&1
echo "stubrun app.ts, first run (packs, uploads, links): $(ms node "$BIN" app.ts) ms"
echo "stubrun app.ts, second run (packages already there): $(ms node "$BIN" app.ts) ms"
echo "stubrun app.ts, third run: $(ms node "$BIN" app.ts) ms"
node "$BIN" server stop >/dev/null 2>&1

# The alternatives, measured on the same project.
mkdir -p "$WORK/ci-warm" "$WORK/ci-cold"
cp package.json package-lock.json "$WORK/ci-warm/"; cp package.json package-lock.json "$WORK/ci-cold/"
echo "npm ci from the lockfile, warm npm cache: $(cd "$WORK/ci-warm" && ms npm ci --no-audit --no-fund --loglevel=error) ms"
echo "npm ci from the lockfile, cold npm cache: $(cd "$WORK/ci-cold" && ms npm ci --no-audit --no-fund --loglevel=error --cache "$WORK/npm-cache") ms"
ESBUILD="$ROOT/node_modules/.bin/esbuild"
if [ -x "$ESBUILD" ]; then
  # (a bundle cannot hold a native addon's .node file, nor decorator metadata: esbuild does not emit it)
  echo "one esbuild bundle of app.ts: $(ms "$ESBUILD" app.ts --bundle --platform=node --external:stubrun --tsconfig-raw='{"compilerOptions":{"experimentalDecorators":true}}' --outfile="$WORK/bundle.js") ms, $(( $(stat -c %s "$WORK/bundle.js") / 1024 )) kB"
fi
