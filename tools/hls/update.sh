#!/usr/bin/env bash
# Installs the pinned hls.js (package.json, package-lock.json) from the npm registry and copies its
# light build and licence to static/vendor/hls/, the only copy the site serves (no CDN, no npm at
# run time). To update: change the version in package.json, run `npm install --package-lock-only`
# here, then this script, and commit the lock file and static/vendor/hls/.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/../../static/vendor/hls"
cd "$HERE"
npm ci --ignore-scripts --no-audit --no-fund
mkdir -p "$OUT"
# The source map is not shipped; drop its comment so collectstatic's manifest does not look for it.
sed '/^\/\/# sourceMappingURL=/d' node_modules/hls.js/dist/hls.light.min.js >"$OUT/hls.light.min.js"
cp node_modules/hls.js/LICENSE "$OUT/LICENSE"
echo "hls.js $(node -p 'require("./node_modules/hls.js/package.json").version') copied to $OUT"
