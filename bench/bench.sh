#!/usr/bin/env bash
# The benchmark suite (make bench; make bench-vhost runs part 1 only).
#
#  1. vhost loopback: dpdk-testpmd on CPU 0 with two net_virtio_user server
#     ports in io forwarding (start tx_first) through a switch whose one PMD
#     runs on CPU 1, forwarding between two dpdkvhostuserclient ports
#     (tag=300): gvswitchd and OVS-DPDK, interleaved trials, 64 and 1518 B.
#  2. RFC 2544 through each switch: gvs-pktgen (CPU 0) on two vhost-user
#     server ports, bidirectional streams, L2 learning, VLAN 300 access.
#  3. The generator's ceiling: gvs-pktgen vs dpdk-testpmd txonly (--txpkts=60: 64 B
#     with FCS, as gvs-pktgen counts) feeding
#     DPDK's net_vhost PMD (rxonly on CPU 1), interleaved trials, 64 B.
#
# Results: a side-by-side table on stdout and in $OUT (.run/bench: summary.txt,
# rfc2544-*.json).
# Every process is started here and stopped by its PID; hugepages added
# here are given back; the work directory is removed.
set -euo pipefail

PARTS=${PARTS:-"loopback rfc2544 ceiling"}
TRIALS=${TRIALS:-3}          # interleaved trials per switch
MEASURE=${MEASURE:-4}        # seconds measured per loopback point
WARMUP=${WARMUP:-2}
RFC_SIZES=${RFC_SIZES:-64,128,256,512,1024,1280,1518}
RFC_TRIAL=${RFC_TRIAL:-1s}
RFC_LOSS=${RFC_LOSS:-0.01}   # loss tolerance, percent (a shared VM loses a few frames to scheduling)
HUGEPAGES=${HUGEPAGES:-1024} # 2 MiB pages added for the run
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/bin}
OUT=${OUT:-$ROOT/.run/bench}
TESTPMD=${GVS_TESTPMD:-dpdk-testpmd}
OVS_DPDK=${OVS_DPDK:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}
SCHEMA=${OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}
NR=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (hugepages, vhost-user sockets, netns)"
command -v stdbuf >/dev/null || die "stdbuf missing"
command -v "$TESTPMD" >/dev/null || die "$TESTPMD missing: run scripts/install-deps.sh bench"
[ -x "$BIN/gvswitchd" ] && [ -x "$BIN/gvs-pktgen" ] || die "build first (make build)"
HAVE_OVS=0
if [ -x "$OVS_DPDK" ] && command -v ovsdb-server >/dev/null; then HAVE_OVS=1; else log "no OVS-DPDK at $OVS_DPDK: gvswitchd only"; fi

# DPDK device arguments cannot hold ',' or '=': a plain directory name.
W=$(mktemp -d /tmp/gvs-bench.XXXXXX)
PIDS=()
ADDED=0
MOUNTED=0
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.5
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	[ $MOUNTED = 1 ] && umount -l "$W/huge"
	if [ $ADDED -gt 0 ]; then
		cur=$(cat $NR); echo $((cur > ADDED ? cur - ADDED : 0)) > $NR
	fi
	if [ -n "${KEEP:-}" ]; then log "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Hugepages: add what we need, give it back at exit (TESTING.md).
cur=$(cat $NR)
echo $((cur + HUGEPAGES)) > $NR
ADDED=$(( $(cat $NR) - cur ))
[ $ADDED -ge $((HUGEPAGES * 3 / 4)) ] || die "could add only $ADDED of $HUGEPAGES hugepages"
mkdir -p "$W/huge" "$W/sock"
mount -t hugetlbfs -o pagesize=2M none "$W/huge" && MOUNTED=1
log "work dir $W, $ADDED hugepages added; load: $(cut -d' ' -f1-3 /proc/loadavg)"

BG_PID=""
start_bg() { # start_bg NAME CMD...: runs CMD in the background; its PID in BG_PID
	local name=$1; shift
	"$@" >"$W/$name.log" 2>&1 &
	BG_PID=$!
	PIDS+=($BG_PID)
}
stop_pid() { # stop_pid PID: TERM, then KILL
	local p=$1 i
	kill "$p" 2>/dev/null || return 0
	for i in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null || true
}

# ---- dpdk-testpmd through a FIFO (TESTING.md) ----
TP_PID=""
tp_start() { # tp_start NAME EAL... -- APP...
	local name=$1; shift
	rm -f "$W/$name.in"; mkfifo "$W/$name.in"
	stdbuf -oL -eL "$TESTPMD" "$@" <"$W/$name.in" >"$W/$name.log" 2>&1 &
	TP_PID=$!; PIDS+=($TP_PID)
	exec {TP_FD}>"$W/$name.in"
	TP_LOG=$W/$name.log
	local i
	for i in $(seq 600); do
		grep -q 'testpmd> ' "$TP_LOG" 2>/dev/null && return 0
		kill -0 $TP_PID 2>/dev/null || { tail -20 "$TP_LOG" >&2; die "testpmd $name exited"; }
		sleep 0.1
	done
	tail -20 "$TP_LOG" >&2; die "testpmd $name: no prompt in 60 s"
}
tp_say() { echo "$*" >&$TP_FD; }
tp_rx_total() { # sum of RX-packets over all ports, now
	local off; off=$(stat -c %s "$TP_LOG")
	tp_say "show port stats all"
	sleep 0.3
	tail -c +$((off + 1)) "$TP_LOG" | grep -o 'RX-packets: *[0-9]*' | awk '{s += $2} END {print s + 0}'
}
tp_stop() {
	tp_say quit 2>/dev/null || true
	exec {TP_FD}>&-
	local i; for i in $(seq 100); do kill -0 $TP_PID 2>/dev/null || break; sleep 0.1; done
	stop_pid $TP_PID
}

# ---- switches ----
VSCTL=()
SW_PIDS=()
switch_start() { # switch_start gvs|ovs
	local kind=$1 d=$W/$1
	rm -rf "$d"; mkdir -p "$d/run" "$d/db" "$d/log"
	SW_PIDS=()
	if [ "$kind" = gvs ]; then
		start_bg gvswitchd "$BIN/gvswitchd" --rundir="$d/run" --dbdir="$d/db" --logdir="$d/log" --log-file -vconsole:off
		SW_PIDS+=($BG_PID)
		local i; for i in $(seq 150); do [ -S "$d/run/db.sock" ] && break; sleep 0.1; done
		VSCTL=(ovs-vsctl --db=unix:$d/run/db.sock --timeout=60)
		"${VSCTL[@]}" set Open_vSwitch . other_config:pmd-cpu-mask=0x2 other_config:dpdk-init=true other_config:dpdk-socket-mem=512
	else
		export OVS_RUNDIR=$d/run OVS_DBDIR=$d/db OVS_LOGDIR=$d/log
		ovsdb-tool create "$d/db/conf.db" "$SCHEMA"
		start_bg ovsdb-server ovsdb-server "$d/db/conf.db" --remote=punix:$d/run/db.sock --unixctl=$d/run/ovsdb-server.ctl
		SW_PIDS+=($BG_PID)
		local i; for i in $(seq 100); do [ -S "$d/run/db.sock" ] && break; sleep 0.1; done
		VSCTL=(ovs-vsctl --db=unix:$d/run/db.sock --timeout=60)
		"${VSCTL[@]}" --no-wait init
		"${VSCTL[@]}" --no-wait set Open_vSwitch . other_config:dpdk-init=true other_config:dpdk-socket-mem=512 \
			other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 other_config:dpdk-hugepage-dir=$W/huge \
			"other_config:dpdk-extra=--no-pci --file-prefix=gvsb-ovs --iova-mode=va${OVS_DPDK_EXTRA:+ $OVS_DPDK_EXTRA}"
		start_bg ovs-vswitchd unshare --net -- "$OVS_DPDK" unix:$d/run/db.sock --unixctl=$d/run/ovs-vswitchd.ctl \
			--log-file=$d/log/ovs-vswitchd.log -vconsole:off
		SW_PIDS+=($BG_PID)
		unset OVS_RUNDIR OVS_DBDIR OVS_LOGDIR
	fi
	"${VSCTL[@]}" add-br br0 -- set Bridge br0 datapath_type=netdev
	local p
	for p in vhu0 vhu1; do
		"${VSCTL[@]}" add-port br0 $p tag=300 -- set Interface $p type=dpdkvhostuserclient options:vhost-server-path=$W/sock/$p.sock
	done
}
switch_stop() {
	local p
	for p in "${SW_PIDS[@]}"; do stop_pid "$p"; done
	SW_PIDS=()
	rm -f "$W"/sock/vhu*.sock
}

# ---- 1. vhost loopback ----
declare -A LOOP # LOOP[kind,size] = space-separated Mpps of each trial
declare -A CYC  # CYC[kind,size] = the PMD's processing cycles per packet of each trial
sw_appctl() { # sw_appctl gvs|ovs CMD...: ovs-appctl to the running switch
	local kind=$1 ctl; shift
	ctl=$(ls "$W/$kind/run/"*.ctl 2>/dev/null | grep -v ovsdb-server | head -1)
	[ -n "$ctl" ] && ovs-appctl -t "$ctl" "$@"
}
loopback_trial() { # loopback_trial gvs|ovs
	local kind=$1 size
	switch_start "$kind"
	tp_start loop-$kind --lcores 0@0,1@0 --main-lcore 0 --no-pci --file-prefix gvsb-loop --in-memory --single-file-segments \
		-m 512 --huge-dir "$W/huge" \
		--vdev net_virtio_user0,path=$W/sock/vhu0.sock,server=1,queues=1,queue_size=256,mac=02:00:00:00:00:01 \
		--vdev net_virtio_user1,path=$W/sock/vhu1.sock,server=1,queues=1,queue_size=256,mac=02:00:00:00:00:02 \
		-- -i --forward-mode=io --nb-cores=1 --burst=32 --rxd=256 --txd=256 \
		--eth-peer=0,02:00:00:00:00:02 --eth-peer=1,02:00:00:00:00:01
	for size in 64 1518; do
		tp_say "set txpkts $size"
		tp_say "start tx_first"
		sleep "$WARMUP"
		sw_appctl "$kind" dpif-netdev/pmd-stats-clear >/dev/null || true
		local a b; a=$(tp_rx_total); sleep "$MEASURE"; b=$(tp_rx_total)
		# The switch's own cost: its PMD's busy cycles per packet (both
		# switches count them the same way, from the TSC).
		local cyc; cyc=$(sw_appctl "$kind" dpif-netdev/pmd-stats-show -pmd 1 2>/dev/null |
			sed -n 's/^ *avg processing cycles per packet: \([0-9.]*\).*/\1/p' | head -1)
		tp_say stop; sleep 0.5
		local mpps; mpps=$(awk -v a="$a" -v b="$b" -v t="$MEASURE" 'BEGIN {printf "%.3f", (b - a) / (t + 0.3) / 1e6}')
		LOOP[$kind,$size]="${LOOP[$kind,$size]:-} $mpps"
		CYC[$kind,$size]="${CYC[$kind,$size]:-} ${cyc:--}"
		log "loopback $kind $size B: $mpps Mpps, ${cyc:--} cycles/packet"
	done
	tp_stop
	switch_stop
}

# ---- 2. RFC 2544 through a switch ----
rfc_run() { # rfc_run gvs|ovs
	local kind=$1
	switch_start "$kind"
	"$BIN/gvs-pktgen" rfc2544 --port vhost-server:$W/sock/vhu0.sock --port vhost-server:$W/sock/vhu1.sock \
		--bidir --cpu 0 --ring 1024 --hugepages --sizes "$RFC_SIZES" --trial "$RFC_TRIAL" --max-trials 8 --resolution 0.02 --loss "$RFC_LOSS" \
		--json >"$OUT/rfc2544-$kind.json" 2>"$W/pktgen-$kind.log" &
	local pid=$!; PIDS+=($pid)
	wait $pid || { tail -20 "$W/pktgen-$kind.log" >&2; log "rfc2544 through $kind failed"; }
	switch_stop
}

# ---- 3. generator ceiling ----
declare -A CEIL
ceiling() {
	tp_start sink --lcores 0@1,1@1 --main-lcore 0 --no-pci --file-prefix gvsb-sink --in-memory -m 256 --huge-dir "$W/huge" \
		--vdev net_vhost0,iface=$W/sock/sink.sock,queues=1 \
		-- -i --forward-mode=rxonly --nb-cores=1 --burst=32 --rxd=1024 --txd=1024 --total-num-mbufs=16384
	tp_say start
	local SINK_FD=$TP_FD SINK_LOG=$TP_LOG t gen
	for t in $(seq "$TRIALS"); do
		for gen in pktgen testpmd; do
			local pid
			if [ $gen = pktgen ]; then
				start_bg gen "$BIN/gvs-pktgen" run --port vhost-client:$W/sock/sink.sock --cpu 0 --ring 1024 --hugepages \
					--size 64 --duration $((WARMUP + MEASURE + 3))s --quiet
				pid=$BG_PID
			else
				rm -f "$W/gen.in"; mkfifo "$W/gen.in"
				stdbuf -oL -eL "$TESTPMD" --lcores 0@0,1@0 --main-lcore 0 --no-pci --file-prefix gvsb-gen --in-memory \
					--single-file-segments -m 256 --huge-dir "$W/huge" \
					--vdev net_virtio_user0,path=$W/sock/sink.sock,queues=1,queue_size=1024 \
					-- -i --forward-mode=txonly --txpkts=60 --nb-cores=1 --burst=32 --rxd=1024 --txd=1024 <"$W/gen.in" >"$W/gen.log" 2>&1 &
				pid=$!; PIDS+=($pid)
				exec {GEN_FD}>"$W/gen.in"
				local i; for i in $(seq 300); do grep -q 'testpmd> ' "$W/gen.log" && break; sleep 0.1; done
				echo start >&$GEN_FD
			fi
			sleep "$WARMUP"
			TP_FD=$SINK_FD TP_LOG=$SINK_LOG
			local a b; a=$(tp_rx_total); sleep "$MEASURE"; b=$(tp_rx_total)
			local mpps; mpps=$(awk -v a="$a" -v b="$b" -v t="$MEASURE" 'BEGIN {printf "%.3f", (b - a) / (t + 0.3) / 1e6}')
			CEIL[$gen]="${CEIL[$gen]:-} $mpps"
			log "ceiling $gen 64 B: $mpps Mpps"
			if [ $gen = testpmd ]; then echo quit >&$GEN_FD; exec {GEN_FD}>&-; sleep 1; fi
			stop_pid "$pid"
			sleep 1
		done
	done
	TP_FD=$SINK_FD TP_LOG=$SINK_LOG
	tp_stop
}

median() { tr ' ' '\n' | grep -v '^-\?$' | sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b}'; }

mkdir -p "$OUT"
rm -f "$OUT"/rfc2544-*.json "$OUT"/summary.txt
T0=$(date +%s)
kinds="gvs"; [ $HAVE_OVS = 1 ] && kinds="gvs ovs"
for part in $PARTS; do
	case $part in
	loopback) for t in $(seq "$TRIALS"); do for k in $kinds; do loopback_trial $k; done; done ;;
	rfc2544) for k in $kinds; do rfc_run $k; done ;;
	ceiling) ceiling ;;
	esac
done

{
	echo "gvswitch benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"
	echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(( $(date +%s) - T0 )) s"
	echo
	if [ -n "${LOOP[gvs,64]:-}" ]; then
		echo "1. vhost loopback (testpmd io-fwd on CPU 0, switch PMD on CPU 1, VLAN 300 access ports), Mpps, median of $TRIALS interleaved trials"
		printf '%-8s %12s %12s %8s   %s\n' size gvswitchd OVS-DPDK ratio "trials gvs | ovs"
		for s in 64 1518; do
			g=$(echo "${LOOP[gvs,$s]}" | median); o=$(echo "${LOOP[ovs,$s]:-}" | median)
			printf '%-8s %12s %12s %8s   %s |%s\n' "$s B" "$g" "$o" "$(ratio "$g" "$o")" "${LOOP[gvs,$s]}" "${LOOP[ovs,$s]:-}"
		done
		echo "   the switch PMD's processing cycles per packet (pmd-stats-show), median; ratio = OVS-DPDK / gvswitchd (> 1: gvswitchd cheaper)"
		for s in 64 1518; do
			g=$(echo "${CYC[gvs,$s]}" | median); o=$(echo "${CYC[ovs,$s]:-}" | median)
			printf '%-8s %12s %12s %8s   %s |%s\n' "$s B" "$g" "$o" "$(ratio "$o" "$g")" "${CYC[gvs,$s]}" "${CYC[ovs,$s]:-}"
		done
		echo
	fi
	if [ -s "$OUT/rfc2544-gvs.json" ]; then
		echo "2. RFC 2544 through the switch (gvs-pktgen on CPU 0, two vhost-user ports, bidirectional, $RFC_TRIAL trials, loss tolerance $RFC_LOSS %)"
		echo "   throughput: highest rate with loss <= tolerance, Mpps; max: rate received when sending flat out; p99 latency at the throughput rate"
		printf '%-8s %10s %10s %6s   %10s %10s %6s   %10s %10s\n' size "gvs thr" "ovs thr" ratio "gvs max" "ovs max" ratio "gvs p99" "ovs p99"
		python3 - "$OUT/rfc2544-gvs.json" "$OUT/rfc2544-ovs.json" <<'EOF'
import json, sys
def load(p):
    try:
        return {s["frame_size"]: s for s in json.load(open(p))["sizes"]}
    except Exception:
        return {}
g, o = load(sys.argv[1]), load(sys.argv[2])
def f(s, k):
    return "%.3f" % (s[k] / 1e6) if s else "-"
def r(a, b, k):
    return "%.2f" % (a[k] / b[k]) if a and b and b[k] else "-"
def lat(s):
    return "%.1fus" % (s["latency"]["p99_ns"] / 1e3) if s and s["latency"]["samples"] else "-"
for size in sorted(g):
    a, b = g[size], o.get(size)
    print("%-8s %10s %10s %6s   %10s %10s %6s   %10s %10s" % ("%d B" % size, f(a, "throughput_pps"), f(b, "throughput_pps"),
        r(a, b, "throughput_pps"), f(a, "max_rx_pps"), f(b, "max_rx_pps"), r(a, b, "max_rx_pps"), lat(a), lat(b)))
EOF
		echo
	fi
	if [ -n "${CEIL[pktgen]:-}" ]; then
		echo "3. generator ceiling into DPDK net_vhost (rxonly on CPU 1), 64 B, Mpps received, median of $TRIALS interleaved trials"
		p=$(echo "${CEIL[pktgen]}" | median); q=$(echo "${CEIL[testpmd]}" | median)
		printf '%-12s %12s %20s %8s   %s\n' size gvs-pktgen "testpmd txonly" ratio "trials pktgen | testpmd"
		printf '%-12s %12s %20s %8s   %s |%s\n' "64 B" "$p" "$q" "$(ratio "$p" "$q")" "${CEIL[pktgen]}" "${CEIL[testpmd]}"
	fi
} | tee "$OUT/summary.txt"
