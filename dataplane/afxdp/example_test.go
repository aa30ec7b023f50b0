package afxdp_test

import (
	"fmt"

	"gvswitch/dataplane"
	"gvswitch/dataplane/afxdp"
)

// Open a kernel interface as an AF_XDP port with an Interface row's
// options, and forward one burst from it to another port.
func ExampleOpen() {
	var opt afxdp.Options
	if err := afxdp.ParseOptions(&opt, map[string]string{"xdp-mode": "best-effort", "n_rxq": "1"}); err != nil {
		fmt.Println(err)
		return
	}
	p, err := afxdp.Open("eth1", opt)
	if err != nil {
		fmt.Println(err) // e.g. ErrNoDevice, ErrUnsupported, ErrBusy
		return
	}
	defer p.Close()
	fmt.Println("xdp-mode:", p.Status()["xdp-mode"]) // native, generic or native-with-zerocopy

	var out dataplane.Port = p // any port
	pkts := make([]*dataplane.Packet, 32)
	if n := p.RxBurst(0, pkts); n > 0 {
		out.TxBurst(0, pkts[:n])
	}
}
