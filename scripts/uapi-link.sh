#!/usr/bin/env bash
# Points target/uapi/include (where .cargo/config.toml sends v4l2r and the
# simulator) at the 6.12 uAPI headers of scripts/uapi-headers.sh.
# When the link is new or changes, the headers' mtime is set to now: cargo
# reruns a build script whose rerun-if-changed file is *newer* than its last
# run, and the unpacked package files carry their (old) package dates, so
# without this a build made before the link existed would stay stale.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
dir=$("$here/uapi-headers.sh")
link=$repo/target/uapi/include
if [ "$(readlink "$link" 2>/dev/null || true)" != "$dir" ]; then
  mkdir -p "$repo/target/uapi"
  ln -sfn "$dir" "$link"
  touch "$dir/linux/videodev2.h" "$dir/linux/v4l2-controls.h" "$dir/linux/media.h"
fi
