package reconcile

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"

	"gvswitch/dataplane"
)

// IfaceConfig is what an Opener is given: the Interface row's columns that
// configure a port.
type IfaceConfig struct {
	Name        string
	Type        string // "" is reported as "system"
	Bridge      string
	Options     map[string]string // Interface options
	OtherConfig map[string]string // Interface other_config
	MTURequest  int               // Interface mtu_request, 0 when unset
	MAC         string            // Interface mac, "" when unset
	Rundir      string            // where server-mode sockets live (dpdkvhostuser)
	// Pool is the switch's packet memory, for ports that receive into
	// their own buffers.
	Pool *dataplane.Pool
	// Workers is how many goroutines may transmit on the port at once
	// (PMDs and the main thread): the tx queues a port should have to
	// need no tx lock.
	Workers int
	// Global is Open_vSwitch other_config (vhost-iommu-support,
	// vhost-sock-dir, ...).
	Global map[string]string
}

// Opener opens a port of one Interface type. The error text goes to the
// Interface error column as is, so it should read like Open vSwitch's
// ("could not open network device vnet0 (No such device)").
type Opener func(IfaceConfig) (dataplane.Port, error)

// ErrNoDevice is the error of an Interface whose kernel device does not
// exist; its text is Open vSwitch's.
var ErrNoDevice = errors.New("No such device")

var (
	typesMu sync.RWMutex
	openers = map[string]Opener{}
)

// RegisterType makes Interfaces of type typ openable. The daemon registers
// the port packages' openers at start-up; tests register fakes.
func RegisterType(typ string, o Opener) {
	typesMu.Lock()
	defer typesMu.Unlock()
	if o == nil {
		delete(openers, typ)
		return
	}
	openers[typ] = o
}

func opener(typ string) (Opener, bool) {
	typesMu.RLock()
	defer typesMu.RUnlock()
	o, ok := openers[typ]
	return o, ok
}

// SupportedTypes are the registered Interface types, sorted: what the
// daemon writes to Open_vSwitch iface_types.
func SupportedTypes() []string {
	typesMu.RLock()
	defer typesMu.RUnlock()
	ts := make([]string, 0, len(openers))
	for t := range openers {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// unsupportedError is the Interface error of a type nobody registered.
func unsupportedError(typ string) string {
	return fmt.Sprintf("gvswitch does not support Interface type %q", typ)
}

// CheckNetDevice returns nil when a kernel network device called name
// exists, else an error with Open vSwitch's text for a missing device.
// Openers of kernel-device types call it first.
func CheckNetDevice(name string) error {
	if _, err := net.InterfaceByName(name); err != nil {
		return fmt.Errorf("could not open network device %s (%w)", name, ErrNoDevice)
	}
	return nil
}
