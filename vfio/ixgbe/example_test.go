package ixgbe_test

import (
	"errors"
	"fmt"

	"gvswitch/dataplane"
	"gvswitch/vfio"
	"gvswitch/vfio/ixgbe"
)

// A dpdk Interface: open the device named by options:dpdk-devargs with
// the Interface's options, put the error text in the error column when
// it fails, poll its queues otherwise.
func ExampleOpen() {
	opts := ixgbe.Options{Name: "dpdk0", MTU: 1500}
	if err := ixgbe.ParseOptions(&opts, map[string]string{"n_rxq": "2"}); err != nil {
		fmt.Println("error column:", err)
		return
	}
	port, err := ixgbe.Open("0000:08:00.0", opts)
	switch {
	case errors.Is(err, vfio.ErrNotFound), errors.Is(err, vfio.ErrNotBound),
		errors.Is(err, vfio.ErrGroupNotViable), errors.Is(err, vfio.ErrNoVFIO):
		fmt.Println("error column:", err) // the host is not prepared
		return
	case err != nil:
		fmt.Println("error column:", err)
		return
	}
	defer port.Close()
	var burst [32]*dataplane.Packet
	for q := 0; q < port.NumRxQueues(); q++ {
		n := port.RxBurst(q, burst[:])
		port.TxBurst(0, burst[:n]) // hairpin, for the example
	}
}
