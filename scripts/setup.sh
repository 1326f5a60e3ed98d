#!/usr/bin/env bash
# Installs what qoelab needs on a Debian/Ubuntu machine, and nothing that is already there.
# System packages come from Debian's archive; JavaScript packages from the npm registry (lockfile).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the project uses, with why:
#   tshark      cross-check oracle in tests      tcpdump   live capture
#   iproute2 iputils-ping socat  ip netns, veth, tc; ping; raw sends in tests            iptables nftables  loss on the forwarding path
#   ethtool     offloads off in lab hosts        ffmpeg    test video (HLS ladder)
#   chromium    player and page tests            baresip   real softphone
#   sox espeak-ng  test speech                   python3-scipy python3-sklearn python3-scapy  peers for checks and benchmarks
#   build-essential python3  native addon (TUN link emulator) via node-gyp
PACKAGES=(tshark tcpdump iproute2 iputils-ping socat iptables nftables ethtool ffmpeg chromium baresip sox espeak-ng
  python3-scipy python3-sklearn python3-scapy python3-numpy build-essential python3 ca-certificates)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done
if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "qoelab setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "qoelab setup: Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none)); install it from nodejs.org or your distribution's backports" >&2
  exit 1
fi

# npm packages: reinstall only when the lockfile changed since the last install.
stamp=node_modules/.qoelab-lock-stamp
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "qoelab setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi

# The TUN link emulator's N-API addon (C), rebuilt when Node or its source changes; qoelab works without it.
addon_stamp=native/tun/build/.qoelab-build-stamp
addon_want="$(node --version) $(cat native/tun/*.c native/tun/*.h native/tun/binding.gyp | sha256sum | cut -d' ' -f1)"
if [ ! -f "$addon_stamp" ] || [ "$(cat "$addon_stamp")" != "$addon_want" ]; then
  echo "qoelab setup: building the TUN link emulator addon" >&2
  if npm run build:native --silent >/dev/null 2>&1; then
    echo "$addon_want" >"$addon_stamp"
  else
    echo "qoelab setup: native addon not built (needs python3, make, g++); the link emulator is unavailable" >&2
  fi
fi

# The compiled CLI (dist/), rebuilt when the sources, the TypeScript settings or the lockfile change.
# A build that fails leaves no dist/, so bin/qoelab.js runs the sources through tsx instead.
build_stamp=dist/.qoelab-build-stamp
build_want="$(node --version) $(find src scripts/copy-assets.mjs tsconfig.json tsconfig.build.json package-lock.json -type f \
  ! -name '*.test.ts' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
if [ ! -f "$build_stamp" ] || [ "$(cat "$build_stamp")" != "$build_want" ]; then
  echo "qoelab setup: building the CLI (npm run build → dist/)" >&2
  rm -rf dist
  if npm run build --silent >/dev/null 2>node_modules/.qoelab-build.err; then
    echo "$build_want" >"$build_stamp"
    rm -f node_modules/.qoelab-build.err
  else
    echo "qoelab setup: build failed (see node_modules/.qoelab-build.err); the qoelab command runs the sources through tsx" >&2
    rm -rf dist
  fi
fi

# The `qoelab` command on PATH: a symbolic link to bin/qoelab.js in QOELAB_BIN_DIR (default
# /usr/local/bin when writable, else ~/.local/bin). The last clone set up owns the link.
bin_dir="${QOELAB_BIN_DIR:-}"
if [ -z "$bin_dir" ]; then
  if [ -w /usr/local/bin ]; then bin_dir=/usr/local/bin; else bin_dir="$HOME/.local/bin"; fi
fi
target="$(pwd)/bin/qoelab.js"
if [ "$(readlink "$bin_dir/qoelab" 2>/dev/null)" != "$target" ]; then
  mkdir -p "$bin_dir"
  chmod +x bin/qoelab.js
  ln -sfn "$target" "$bin_dir/qoelab"
  echo "qoelab setup: linked $bin_dir/qoelab → $target" >&2
fi
case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) echo "qoelab setup: $bin_dir is not on your PATH; add it to use the qoelab command" >&2 ;;
esac
