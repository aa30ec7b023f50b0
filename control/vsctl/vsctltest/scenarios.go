package vsctltest

import "strings"

// Scenarios returns the ovs-vsctl command lines of SCENARIOS.md sections
// 2-5 (global options, userspace bridge with an LACP bond trunk and a
// vhost-user port, kernel bridge with a balance-slb bond and a fake
// bridge, the libvirt add-port line, the checks users run), in order, as
// one history starting from an empty database.
//
// With noWait, modifying commands carry --no-wait (no switch daemon
// needed). Without it they wait for the switch to apply the change
// (bounded by --timeout=10), so a daemon (gvswitchd, or FakeSwitch) must
// be serving the database.
func Scenarios(noWait bool) []Step {
	mod := func(line string) Step {
		args := strings.Fields(line)
		if noWait {
			return Step{Args: append([]string{"--no-wait"}, args...)}
		}
		return Step{Args: append([]string{"--timeout=10"}, args...)}
	}
	ro := func(mode Sort, args ...string) Step { return Step{Args: args, Sort: mode} }
	libvirt := func(extra ...string) Step {
		args := []string{"--timeout=5"}
		if noWait {
			args = append([]string{"--no-wait"}, args...)
		}
		args = append(args, "--", "--if-exists", "del-port", "vnet0", "--", "add-port", "ovsbr0", "vnet0", "tag=300")
		return Step{Args: append(args, extra...)}
	}
	return []Step{
		// Section 2: global options.
		mod("init"),
		mod("set Open_vSwitch . other_config:dpdk-init=true"),
		mod("set Open_vSwitch . other_config:dpdk-socket-mem=1024,1024"),
		mod("set Open_vSwitch . other_config:vhost-iommu-support=true"),
		mod("set Open_vSwitch . other_config:pmd-cpu-mask=0x33"),
		ro(NoSort, "get", "Open_vSwitch", ".", "other_config"),
		// Section 3: userspace bridge, LACP bond trunk, vhost-user port.
		mod("add-br ovsbr0 -- set bridge ovsbr0 datapath_type=netdev"),
		mod("add-bond ovsbr0 bond0 dpdk0 dpdk1 vlan_mode=trunk trunks=11,300-304 bond_mode=balance-tcp lacp=active other_config:lacp-time=fast -- set Interface dpdk0 type=dpdk options:dpdk-devargs=0000:08:00.0 -- set Interface dpdk1 type=dpdk options:dpdk-devargs=0000:08:00.1"),
		mod("add-port ovsbr0 vhuc0 vlan_mode=access tag=300 -- set Interface vhuc0 type=dpdkvhostuserclient options:vhost-server-path=/usr/local/openvswitch/vhuc0"),
		ro(Tree, "show"),
		// Section 4: kernel bridge, balance-slb bond without LACP, fake
		// bridge for LXD, and a port on it.
		mod("add-br br2"),
		mod("add-bond br2 bond2 ens1f0 ens1f1"),
		mod("set port bond2 bond_mode=balance-slb lacp=off"),
		mod("add-br vlan302 br2 302"),
		mod("add-port vlan302 veth0"),
		ro(NoSort, "list-ports", "vlan302"),
		ro(NoSort, "get", "port", "veth0", "tag"),
		// The libvirt line, twice (the second run replaces the port).
		libvirt("--", "set", "Interface", "vnet0", `external-ids:attached-mac="52:54:00:d4:25:2e"`,
			"--", "set", "Interface", "vnet0", `external-ids:iface-id="2a7d1c3e-5b9f-4e21-9c1a-7f3d2e8b6a41"`,
			"--", "set", "Interface", "vnet0", `external-ids:vm-id="8c4f2b1a-3d6e-4f7a-9b2c-1e5d8a7f3c90"`,
			"--", "set", "Interface", "vnet0", "external-ids:iface-status=active"),
		libvirt("--", "set", "Interface", "vnet0", `external-ids:attached-mac="52:54:00:d4:25:2e"`),
		ro(NoSort, "get", "Interface", "vnet0", "external_ids"),
		// Section 5: checking the switch.
		ro(Tree, "show"),
		ro(NoSort, "list", "port", "bond0"),
		ro(NoSort, "list", "port", "bond2"),
		ro(NoSort, "list-br"),
		ro(NoSort, "list-ports", "ovsbr0"),
		ro(NoSort, "list-ports", "br2"),
		ro(NoSort, "br-to-vlan", "vlan302"),
		ro(NoSort, "br-to-parent", "vlan302"),
		// Changes that send nothing, and a removal.
		mod("del-port vhuc0"),
		mod("--if-exists del-port nosuch"),
		mod("--may-exist add-br ovsbr0"),
		ro(Tree, "show"),
	}
}
