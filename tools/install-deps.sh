#!/bin/sh
# Installs the Debian packages mace needs to build and test, if missing.
set -e
PKGS="make gcc clang llvm libbpf-dev libtracefs-dev libtraceevent-dev libelf-dev zlib1g-dev
pkg-config bpftool libncurses-dev iproute2 iputils-ping nftables bpftrace tmux mandoc
gnuplot-nox libclang-rt-14-dev procps util-linux
libcurl4-openssl-dev libjson-c-dev docker.io podman busybox-static jq
libmicrohttpd-dev prometheus curl"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "mace: missing Debian packages:$missing (run as root, or: apt-get install$missing)" >&2
	exit 1
fi
echo "  DEPS   installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends $missing >/dev/null
