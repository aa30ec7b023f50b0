#!/usr/bin/env bash
# Builds (once per kernel version) a tiny Linux guest for the vhost-user
# tests: Debian's kernel, uncompressed so QEMU boots it directly (PVH), and a
# busybox initramfs that loads the virtio-net modules, configures eth0 from
# the kernel command line and runs a shell on the serial console.
#
#   test/guest/build-image.sh [CACHE_DIR]   -> prints the image directory
#
# The image directory holds vmlinux and initramfs.cpio.gz. The kernel comes
# from `apt-get download` of the package linux-image-amd64 depends on
# (downloaded and unpacked, not installed). Needs busybox-static, xz-utils,
# cpio, kmod (modinfo). Safe to run concurrently (go test runs packages in
# parallel and several boot guests): one run builds under a lock on
# CACHE_DIR/.lock while the others wait and then use its result.
set -euo pipefail
# Say which step failed: the tests show this script's stderr.
trap 'echo "build-image: line $LINENO: \"$BASH_COMMAND\" failed (exit $?)" >&2' ERR

cache=${1:-${GVS_GUEST_CACHE:-/var/cache/gvswitch-test}}
kernel_pkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}'; }
kpkg=$(kernel_pkg)
if [ -z "$kpkg" ] && [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq >&2 || true # a machine whose package lists were never fetched
  kpkg=$(kernel_pkg)
fi
if [ -z "$kpkg" ]; then
  echo "build-image: cannot find the kernel package of linux-image-amd64 (apt-get update?)" >&2
  exit 1
fi
kver=${kpkg#linux-image-}
out=$cache/guest-$kver
if [ -s "$out/vmlinux" ] && [ -s "$out/initramfs.cpio.gz" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -s "$out/vmlinux" ] && [ -s "$out/initramfs.cpio.gz" ]; then
  echo "$out" # built by another run while this one waited
  exit 0
fi
work=$(mktemp -d "$cache/.build-XXXXXX")
chmod 755 "$work" # apt-get download runs as _apt
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download -q "$kpkg" >&2; then
  # Package lists older than the mirror (the .deb is gone): refresh once.
  # The kernel version may change with them; the image is named after it.
  if [ "$(id -u)" -ne 0 ]; then
    echo "build-image: apt-get download $kpkg failed; as root this would refresh the package lists" >&2
    exit 1
  fi
  apt-get update -qq >&2 || true
  kpkg=$(kernel_pkg)
  kver=${kpkg#linux-image-}
  out=$cache/guest-$kver
  if [ -s "$out/vmlinux" ] && [ -s "$out/initramfs.cpio.gz" ]; then
    echo "$out"
    exit 0
  fi
  apt-get download -q "$kpkg" >&2
fi
dpkg-deb -x ./*.deb root
bz=root/boot/vmlinuz-$kver
moddir=root/lib/modules/$kver

# The bzImage carries an xz-compressed ELF; find the xz stream magic
# (fd 37 7a 58 5a 00) and decompress from there.
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bz" | head -1 | cut -d: -f1)
tail -c +"$((off + 1))" "$bz" | xz -dc --single-stream > vmlinux 2>/dev/null || true
if ! head -c 4 vmlinux | grep -q ELF; then
  echo "build-image: could not extract the ELF kernel from $bz" >&2
  exit 1
fi

# Modules in dependency order (modinfo -F depends).
declare -A seen=()
order=()
modpath() { find "$moddir" -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" | head -1; }
add() {
  local m=$1 f dep
  [ -n "${seen[$m]:-}" ] && return
  seen[$m]=1
  f=$(modpath "$m")
  [ -z "$f" ] && return # built in
  for dep in $(modinfo -F depends "$f" | tr ',' ' '); do add "$dep"; done
  order+=("$f")
}
for m in virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net 8021q; do
  add "$m"
done

ir=initramfs
mkdir -p $ir/bin $ir/sbin $ir/proc $ir/sys $ir/dev $ir/tmp $ir/lib/modules $ir/etc $ir/usr/bin $ir/usr/sbin $ir/root
cp /bin/busybox $ir/bin/busybox
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$ir/bin/$a"; done
: > "$ir/lib/modules/order"
for f in "${order[@]}"; do
  b=$(basename "$f")
  case $b in
    *.xz) xz -dc "$f" > "$ir/lib/modules/${b%.xz}"; b=${b%.xz} ;;
    *.zst) zstd -qdc "$f" > "$ir/lib/modules/${b%.zst}"; b=${b%.zst} ;;
    *) cp "$f" "$ir/lib/modules/$b" ;;
  esac
  echo "$b" >> "$ir/lib/modules/order"
done
# iperf3 with its libraries, when the host has it.
if command -v iperf3 >/dev/null; then
  bin=$(command -v iperf3)
  cp "$bin" $ir/bin/iperf3
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    mkdir -p "$ir$(dirname "$lib")"
    cp -L "$lib" "$ir$lib"
  done
fi
cat > $ir/init <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m 2>/dev/null; done
ip=; vlan=
for arg in $(cat /proc/cmdline); do
  case $arg in
    gvs.ip=*) ip=${arg#gvs.ip=} ;;
    gvs.vlan=*) vlan=${arg#gvs.vlan=} ;;
  esac
done
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
ip link set eth0 up
dev=eth0
if [ -n "$vlan" ]; then
  ip link add link eth0 name eth0.$vlan type vlan id $vlan
  ip link set eth0.$vlan up
  dev=eth0.$vlan
fi
[ -n "$ip" ] && ip addr add "$ip" dev $dev
echo "GVS-GUEST-READY"
# A command loop without echo or prompt: each line the test writes is run,
# and only its output comes back.
exec sh -c 'stty -echo; while read -r line; do eval "$line"; done' </dev/ttyS0 >/dev/ttyS0 2>&1
INIT
chmod +x $ir/init
(cd $ir && find . | cpio -o -H newc --quiet | gzip -1) > initramfs.cpio.gz
mkdir -p "$work/out"
mv vmlinux initramfs.cpio.gz "$work/out/"
rm -rf "$out"
mv "$work/out" "$out"
echo "$out"
