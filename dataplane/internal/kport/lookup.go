package kport

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrNoDevice is wrapped by Lookup when the kernel has no interface of
// that name (in the caller's network namespace).
var ErrNoDevice = errors.New("no such network device")

// Lookup opens a netlink handle and finds the interface name with it. The
// caller owns the handle; on error there is none.
func Lookup(name string) (*netlink.Handle, netlink.Link, error) {
	nl, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, nil, fmt.Errorf("netlink: %w", err)
	}
	link, err := nl.LinkByName(name)
	if err != nil {
		nl.Close()
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil, nil, ErrNoDevice
		}
		return nil, nil, err
	}
	return nl, link, nil
}

// SetMTU sets the MTU of interface ifindex (Interface mtu_request).
func SetMTU(nl *netlink.Handle, ifindex, mtu int) error {
	l, err := nl.LinkByIndex(ifindex)
	if err != nil {
		return err
	}
	if err := nl.LinkSetMTU(l, mtu); err != nil {
		return fmt.Errorf("set MTU %d: %w", mtu, err)
	}
	return nil
}
