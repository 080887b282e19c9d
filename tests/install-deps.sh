#!/bin/sh
# Install the Debian packages named in $PKGS that are not installed yet.
# As root it runs apt-get; otherwise it prints the exact line to run and
# fails, so nothing half-configured follows.
set -e
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
	echo "docket: missing packages:$missing (install them with your package manager)" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "docket: missing packages; run: sudo apt-get install$missing" >&2
	exit 1
fi
echo "docket: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
