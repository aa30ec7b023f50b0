// Package pmd runs the poll-mode threads (PMDs) of the switch: goroutines
// locked to OS threads pinned to the CPUs of other_config:pmd-cpu-mask,
// each polling the rx queues assigned to it and handing every received
// burst to the queue's ProcessFunc (the bridge pipeline).
//
// A Manager owns the set of PMDs. The control plane gives it the
// configuration (Config: CPU mask, rx queue assignment mode, idle back-off)
// and the rx queues (Rxq) of the ports it creates; the Manager assigns each
// queue to exactly one PMD (round-robin, or by measured load, honouring
// pmd-rxq-affinity) and moves queues between PMDs without stopping the
// others: a PMD's poll list is an immutable snapshot swapped atomically,
// and a queue leaves its old PMD (which is then waited for) before it joins
// the new one, so no queue is ever polled by two PMDs at once.
//
// Queues of ports that implement dataplane.RxWaiter (taps: polling an
// empty one is a system call) never go to a PMD: like Open vSwitch's
// non-PMD netdevs they are served by the main thread, a goroutine that
// drains them and otherwise sleeps in poll(2) on their descriptors; they
// are not in pmd-rxq-show and their packets count under "main thread:".
//
// PMDs update their counters and loop epoch with plain stores
// (internal/relaxed): a locked instruction per burst would drain a store
// buffer full of stores into guest memory. The Manager pairs them with
// relaxed.Barrier when it waits for a PMD to leave an old poll list.
//
// Each PMD accounts its time with one clock read per loop iteration (the
// TSC on amd64) and one more per non-empty burst, never per packet; the
// counters feed the OVS-compatible texts of dpif-netdev/pmd-stats-show,
// pmd-rxq-show and pmd-perf-show (WriteStats, WriteRxqs, WritePerf).
//
// Idle back-off: Open vSwitch busy-polls by default (pmd-maxsleep=0),
// which burns a whole core per PMD forever. gvswitch runs on lab hosts
// that are mostly idle, so when pmd-maxsleep is not set it uses
// DefaultMaxSleep: after a run of empty iterations the PMD sleeps, doubling
// the sleep up to the maximum, and goes back to pure polling on the first
// packet. Setting pmd-maxsleep=0 explicitly gives OVS's pure busy polling.
//
// A PMD that panics (including a memory fault in a guest mapping, made a
// panic with debug.SetPanicOnFault) recovers, quarantines the rx queue it
// was polling, calls Options.OnPanic so the queue's owner can mark the
// device broken, and resumes polling its other queues.
package pmd
