#!/usr/bin/env bash
# Checks the distribution archive as a user installs it: unpacked away from the checkout and run
# with Maven out of the PATH; and the systemd unit, verified against the unpacked launcher.
# Usage: deploy/check-dist.sh (after mvn package)
set -euo pipefail
cd "$(dirname "$0")/.."
archive=target/pgmesh-dist.tar.gz
[ -f "$archive" ] || { echo "check-dist: $archive is missing: run mvn package first"; exit 1; }
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
tar -xzf "$archive" -C "$root"
# A PATH with java and the few tools the launcher uses, nothing else: a machine without Maven.
mkdir "$root/path"
for tool in java bash dirname readlink; do
  ln -s "$(readlink -f "$(command -v "$tool")")" "$root/path/$tool"
done
path="$root/path"
if PATH="$path" command -v mvn > /dev/null; then
  echo "check-dist: mvn is still on the reduced PATH $path"; exit 1
fi
version="$(PATH="$path" "$root/pgmesh/bin/pgmesh" --version)"
set +e
out="$(PATH="$path" "$root/pgmesh/bin/pgmesh" check -c /nonexistent/mesh.yaml 2>&1)"
code=$?
set -e
if [ "$code" != 2 ] || [ "${out#*mesh.yaml}" = "$out" ]; then
  printf 'check-dist: bin/pgmesh check with a missing mesh file should exit 2 naming it; exit %s:\n%s\n' "$code" "$out"
  exit 1
fi
echo "check-dist: $version runs from the unpacked archive without Maven (exit 2 for a missing mesh file, as from the checkout)"
if command -v systemd-analyze > /dev/null; then
  unit="$root/pgmesh.service"
  sed -e "s#/opt/pgmesh#$root/pgmesh#g" -e "s#^User=.*#User=root#" -e "s#^Group=.*#Group=root#" \
    deploy/systemd/pgmesh.service > "$unit"
  if ! verdict="$(systemd-analyze verify "$unit" 2>&1)" || [ -n "$verdict" ]; then
    printf 'check-dist: systemd-analyze verify found problems in the unit:\n%s\n' "$verdict"
    exit 1
  fi
  echo "check-dist: systemd-analyze verify accepts deploy/systemd/pgmesh.service"
else
  echo "check-dist: systemd-analyze is not installed: the unit was not verified"
fi
