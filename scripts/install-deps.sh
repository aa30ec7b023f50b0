#!/usr/bin/env bash
# Installs, idempotently, the Debian packages the tests and benchmarks use as
# real peers. Safe to run again and again: it calls apt-get only when a
# package is missing. Needs root (CI runs as root).
set -euo pipefail

pkgs=(
  openvswitch-common openvswitch-switch   # real ovs-vsctl/ovs-appctl/ovsdb-server, OVS as LACP partner
  iproute2 iputils-ping ethtool tcpdump iperf3
  qemu-system-x86 busybox-static xz-utils cpio  # vhost-user guests
  kmod                                     # modinfo: test/guest/build-image.sh orders the guest's modules
  dpdk                                     # dpdk-testpmd as vhost-user front-end
  dpdk-dev librte-net-virtio23 librte-mempool-ring23  # dpdk-testpmd itself and its virtio-user PMD (the dpdk package has only scripts)
  librte-net-vhost23                       # DPDK's vhost PMD (net_vhost): gvs-pktgen's back-end in tests and benchmarks
  pciutils                                 # lspci: dpdk-devbind.py, which gvs-devbind --status is compared with
)
# Optional extras: `scripts/install-deps.sh bench` also installs OVS-DPDK.
if [ "${1:-}" = bench ]; then pkgs+=(openvswitch-switch-dpdk); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages ${missing[*]}; run as root to install them" >&2
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian openvswitch-switch package may start its own daemons where an
# init system runs; our tests start private instances and need none.
exit 0
