package reconcile

import (
	"gvswitch/control/ovsdb"
	"gvswitch/dataplane"
)

// datapath is what reconcile drives below the database: packet memory,
// bridges, their ports and the PMDs polling them. All calls come from
// the Daemon with its mutex held.
type datapath interface {
	// configure applies Open_vSwitch other_config (PMD settings, packet
	// memory size before the first port).
	configure(other map[string]string) error
	// pool returns the packet memory, creating it on first use.
	pool() (*dataplane.Pool, error)
	addBridge(name string, row ovsdb.Row) error
	configureBridge(name string, row ovsdb.Row)
	delBridge(name string)
	// attach adds a port (p.members are open) to its bridge and its rx
	// queues to the PMDs; it sets p.no and p.attached.
	attach(p *port, row ovsdb.Row) error
	// reconfigurePort applies new VLAN settings to an attached port.
	reconfigurePort(p *port, row ovsdb.Row) error
	// detach removes the port's rx queues from the PMDs and the port
	// from its bridge; afterwards no PMD touches its devices.
	detach(p *port)
	// requeue re-reads the rx queue counts of an attached port's devices.
	requeue(p *port)
	// workers is how many goroutines transmit (PMDs + main thread).
	workers() int
	// tick runs periodic work (MAC ageing, bonds) about once a second
	// or more.
	tick()
	close()
}

// nullDatapath opens nothing and forwards nothing (Options.NoDataplane).
type nullDatapath struct{}

func (nullDatapath) configure(map[string]string) error { return nil }
func (nullDatapath) pool() (*dataplane.Pool, error)    { return nil, nil }
func (nullDatapath) addBridge(string, ovsdb.Row) error { return nil }
func (nullDatapath) configureBridge(string, ovsdb.Row) {}
func (nullDatapath) delBridge(string)                  {}
func (nullDatapath) attach(p *port, _ ovsdb.Row) error {
	p.no = uint32(p.members[0].ofport)
	p.attached = true
	return nil
}
func (nullDatapath) reconfigurePort(*port, ovsdb.Row) error { return nil }
func (nullDatapath) detach(*port)                           {}
func (nullDatapath) tick()                                  {}
func (nullDatapath) requeue(*port)                          {}
func (nullDatapath) workers() int                           { return 1 }
func (nullDatapath) close()                                 {}
