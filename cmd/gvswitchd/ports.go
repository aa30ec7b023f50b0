package main

import (
	"fmt"
	"net"

	"gvswitch/control/reconcile"
	"gvswitch/dataplane"
	"gvswitch/dataplane/afpacket"
	"gvswitch/dataplane/tap"
)

// registerPortTypes registers the Interface types gvswitchd can open; each
// comes from its port package. The type names are Open vSwitch's.
func registerPortTypes() {
	// "system" (and the empty type): a kernel network device, through
	// AF_PACKET.
	reconcile.RegisterType("system", func(c reconcile.IfaceConfig) (dataplane.Port, error) {
		if err := reconcile.CheckNetDevice(c.Name); err != nil {
			return nil, err
		}
		p, err := afpacket.Open(c.Name, afpacket.Options{Pool: c.Pool, MTU: c.MTURequest})
		if err != nil {
			return nil, fmt.Errorf("could not open network device %s (%v)", c.Name, err)
		}
		return p, nil
	})
	// "internal": the bridge's own port (and any extra internal port), a
	// tap device named after the interface.
	reconcile.RegisterType("internal", func(c reconcile.IfaceConfig) (dataplane.Port, error) {
		opt := tap.Options{Pool: c.Pool, MTU: c.MTURequest}
		if c.MAC != "" {
			hw, err := net.ParseMAC(c.MAC)
			if err != nil || len(hw) != 6 {
				return nil, fmt.Errorf("%s: bad mac %q", c.Name, c.MAC)
			}
			copy(opt.MAC[:], hw)
		}
		p, err := tap.Open(c.Name, opt)
		if err != nil {
			return nil, fmt.Errorf("could not add network device %s to ofproto (%v)", c.Name, err)
		}
		return p, nil
	})
}
