#!/usr/bin/env bash
# Print the Debian archive mirror this machine's apt already uses, so that no
# mirror host name has to live in the repository. Used by guest-build.sh
# (debootstrap + the guest's sources.list) and trixie-apt.sh (arm64 guest).
#
# Reads the enabled apt sources: $APT_ETC/sources.list, sources.list.d/*.list
# (one-line format) and sources.list.d/*.sources (deb822; `Enabled: no`
# stanzas are skipped). Files with other names (*.disabled, *.save, ...) are
# not read, as apt does not read them. Picks the first `deb` URI that serves
# the main archive: a suite with no `-` suffix (bookworm, not
# bookworm-security/-updates/-backports), preferring the host's own codename
# (/etc/os-release). `cdrom:` sources are skipped.
#
# Env: GUEST_MIRROR (printed as is, no lookup), APT_ETC (default /etc/apt).
# Exit status 1 with a message on stderr if no such source exists.
set -euo pipefail
if [ -n "${GUEST_MIRROR:-}" ]; then echo "${GUEST_MIRROR%/}"; exit 0; fi
etc=${APT_ETC:-/etc/apt}
codename=
if [ -r /etc/os-release ]; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
fi

files=()
[ -f "$etc/sources.list" ] && files+=("$etc/sources.list")
for f in "$etc"/sources.list.d/*.list "$etc"/sources.list.d/*.sources; do
  [ -f "$f" ] && files+=("$f")
done

# candidates: "<uri> <suite>" lines, in file order
cands=$(
  for f in "${files[@]}"; do
    case "$f" in
      *.sources)
        awk '
          function flush() {
            if (types ~ /(^| )deb( |$)/ && tolower(enabled) != "no")
              for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print u[i], s[j]
            types = ""; enabled = ""; nu = 0; ns = 0
          }
          /^[ \t]*#/ { next }
          /^[ \t]*$/ { flush(); next }
          {
            line = $0; key = line; sub(/:.*/, "", key); val = line; sub(/^[^:]*:[ \t]*/, "", val)
            key = tolower(key)
            if (key == "types") types = val
            else if (key == "enabled") enabled = val
            else if (key == "uris") nu = split(val, u, /[ \t]+/)
            else if (key == "suites") ns = split(val, s, /[ \t]+/)
          }
          END { flush() }' "$f" ;;
      *)
        # deb [opts] uri suite components...
        sed -e 's/#.*//' "$f" | awk '
          $1 == "deb" {
            i = 2
            if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
            if (i + 1 <= NF) print $i, $(i + 1)
          }' ;;
    esac
  done | awk '$1 !~ /^cdrom:/ && $2 !~ /-/ && $2 !~ /\//'
)

pick=
[ -n "$codename" ] && pick=$(awk -v c="$codename" '$2 == c { print $1; exit }' <<<"$cands")
[ -n "$pick" ] || pick=$(awk 'NR == 1 { print $1 }' <<<"$cands")
if [ -z "$pick" ]; then
  echo "apt-mirror: no enabled 'deb' source for a Debian main suite in ${files[*]:-$etc (no sources files)};" \
       "set GUEST_MIRROR=<archive URL> (e.g. the URL of a Debian mirror's /debian)" >&2
  exit 1
fi
echo "${pick%/}"
