package main

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"

	"gvswitch/control/reconcile"
	"gvswitch/control/unixctl/vlog"
	"gvswitch/dataplane"
	"gvswitch/dataplane/afpacket"
	"gvswitch/dataplane/afxdp"
	"gvswitch/dataplane/tap"
	"gvswitch/vfio/ixgbe"
	"gvswitch/vhostuser"
)

// registerPortTypes registers the Interface types gvswitchd can open; each
// comes from its port package. The type names are Open vSwitch's.
func registerPortTypes() {
	// "system" (and the empty type): a kernel network device, through
	// AF_PACKET.
	reconcile.RegisterType("system", func(c reconcile.IfaceConfig) (dataplane.Port, error) {
		opt := afpacket.Options{Pool: c.Pool, MTU: c.MTURequest}
		opt.KeepOffloads, opt.GSOPool = kernelOffloads(c) // userspace-tso-enable
		p, err := afpacket.Open(c.Name, opt)
		if err != nil {
			// A missing device is reported in Open vSwitch's words;
			// checking only then spares every add-port a link dump.
			if errors.Is(err, afpacket.ErrNoDevice) {
				if cerr := reconcile.CheckNetDevice(c.Name); cerr != nil {
					return nil, cerr
				}
			}
			return nil, fmt.Errorf("could not open network device %s (%v)", c.Name, err)
		}
		return p, nil
	})
	// "afxdp": a kernel network device through AF_XDP sockets
	// (options:xdp-mode, use-need-wakeup, n_rxq as in Open vSwitch).
	reconcile.RegisterType("afxdp", func(c reconcile.IfaceConfig) (dataplane.Port, error) {
		if err := reconcile.CheckNetDevice(c.Name); err != nil {
			return nil, err
		}
		opt := afxdp.Options{MTU: c.MTURequest, HugePages: c.Global["dpdk-socket-mem"] != ""}
		if err := afxdp.ParseOptions(&opt, c.Options); err != nil {
			return nil, err
		}
		p, err := afxdp.Open(c.Name, opt)
		if err != nil {
			return nil, fmt.Errorf("could not open network device %s (%v)", c.Name, err)
		}
		return p, nil
	})
	// "internal": the bridge's own port (and any extra internal port), a
	// tap device named after the interface.
	reconcile.RegisterType("internal", func(c reconcile.IfaceConfig) (dataplane.Port, error) {
		opt := tap.Options{Pool: c.Pool, MTU: c.MTURequest}
		opt.KeepOffloads, opt.GSOPool = kernelOffloads(c) // userspace-tso-enable
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
	// vhost-user, the switch connecting to the guest's socket
	// (options:vhost-server-path; QEMU's server=on, libvirt mode='server').
	reconcile.RegisterType("dpdkvhostuserclient", func(c reconcile.IfaceConfig) (dataplane.Port, error) {
		path := c.Options["vhost-server-path"]
		if path == "" {
			return nil, fmt.Errorf("vhost-user client port %s: options:vhost-server-path is not set", c.Name)
		}
		opt := vhostOptions(c)
		opt.TxRetries = c.Options["tx-retries-max"]
		return vhostuser.NewClient(c.Name, path, opt)
	})
	// vhost-user, the switch listening on <vhost-sock-dir>/<name>
	// (vhost-sock-dir is relative to the run directory, as in OVS).
	reconcile.RegisterType("dpdkvhostuser", func(c reconcile.IfaceConfig) (dataplane.Port, error) {
		dir := c.Rundir
		if sd := c.Global["vhost-sock-dir"]; sd != "" {
			dir = filepath.Join(c.Rundir, sd)
		}
		return vhostuser.NewServer(c.Name, filepath.Join(dir, c.Name), vhostOptions(c))
	})
	// A physical 82599/X540 port through VFIO (options:dpdk-devargs is
	// its PCI address).
	reconcile.RegisterType("dpdk", func(c reconcile.IfaceConfig) (dataplane.Port, error) {
		addr := c.Options["dpdk-devargs"]
		if addr == "" {
			return nil, fmt.Errorf("'%s' is missing 'options:dpdk-devargs'. The old 'dpdk<port_id>' names are not supported", c.Name)
		}
		opt := ixgbe.Options{Name: c.Name, MTU: c.MTURequest, TxQueues: c.Workers, HugePages: c.Global["dpdk-socket-mem"] != ""}
		if err := ixgbe.ParseOptions(&opt, c.Options); err != nil {
			return nil, err
		}
		p, err := ixgbe.Open(addr, opt)
		if err != nil {
			return nil, fmt.Errorf("Error attaching device '%s' to DPDK: %v", addr, err)
		}
		return p, nil
	})
}

func vhostOptions(c reconcile.IfaceConfig) vhostuser.Options {
	return vhostuser.Options{
		Pool:   c.Pool,
		Logger: vlog.Module("netdev_dpdk").Slog(),
		IOMMU:  c.Global["vhost-iommu-support"] == "true",
		MTU:    c.MTURequest,
	}
}
