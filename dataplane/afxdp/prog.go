package afxdp

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ProgramName is the name of our XDP program as the kernel shows it (bpftool
// prog, ip link show). Open recognises a stale program of a crashed switch
// by it.
const ProgramName = "gvs_xsk_redir"

// struct xdp_md (include/uapi/linux/bpf.h): data, data_end, data_meta,
// ingress_ifindex, rx_queue_index, egress_ifindex, all __u32.
const xdpMDRxQueueIndex = 16

// XDP action codes (enum xdp_action).
const xdpPass = 2

// redirectProgram is the XDP program:
//
//	r2 = ctx->rx_queue_index
//	r1 = &xskmap
//	r3 = XDP_PASS
//	return bpf_redirect_map(r1, r2, r3)
//
// bpf_redirect_map returns the low bits of its flags argument when the
// map has no entry at the key (bpf-helpers(7), since Linux 5.3), so a frame
// on a queue without a socket goes to the kernel stack.
func redirectProgram(xsks *ebpf.Map) asm.Instructions {
	return asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, xdpMDRxQueueIndex, asm.Word),
		asm.LoadMapPtr(asm.R1, xsks.FD()),
		asm.Mov.Imm(asm.R3, xdpPass),
		asm.FnRedirectMap.Call(),
		asm.Return(),
	}
}

// xdpProg is the XSKMAP and the program of one port, and how the program
// is attached now.
type xdpProg struct {
	xsks *ebpf.Map
	prog *ebpf.Program

	ifindex int
	lnk     link.Link // attached with a bpf link
	nlFlags int       // attached over netlink with these flags (lnk nil)
	nlNS    vns.NsHandle
	nlOn    bool
}

// loadProgram creates the XSKMAP for nq queues and loads the program.
func loadProgram(nq int) (*xdpProg, error) {
	m, err := ebpf.NewMap(&ebpf.MapSpec{
		Name:       "gvs_xsks",
		Type:       ebpf.XSKMap,
		KeySize:    4,
		ValueSize:  4,
		MaxEntries: uint32(nq),
	})
	if err != nil {
		return nil, fmt.Errorf("create XSKMAP: %w", err)
	}
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         ProgramName,
		Type:         ebpf.XDP,
		License:      "Dual MIT/GPL",
		Instructions: redirectProgram(m),
	})
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("load XDP program: %w", err)
	}
	return &xdpProg{xsks: m, prog: p, nlNS: -1}, nil
}

// forceNetlink makes attach skip bpf links (tests of the fallback).
var forceNetlink = false

// attach attaches the program to ifindex with the XDP mode flags
// (XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE). It must run in the
// interface's network namespace.
func (x *xdpProg) attach(ifindex int, flags int) error {
	x.ifindex = ifindex
	if !forceNetlink {
		l, err := link.AttachXDP(link.XDPOptions{Program: x.prog, Interface: ifindex, Flags: link.XDPAttachFlags(flags)})
		if err == nil {
			x.lnk = l
			return nil
		}
		if !errors.Is(err, ebpf.ErrNotSupported) {
			return err
		}
	}
	// No XDP links (Linux < 5.9): attach over netlink; a crash leaves
	// the program behind, and the next Open removes it (removeStale).
	l := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: ifindex}}
	if err := netlink.LinkSetXdpFdWithFlags(l, x.prog.FD(), flags|unix.XDP_FLAGS_UPDATE_IF_NOEXIST); err != nil {
		return fmt.Errorf("netlink attach: %w", err)
	}
	ns, err := vns.Get()
	if err != nil {
		netlink.LinkSetXdpFdWithFlags(l, -1, flags)
		return fmt.Errorf("netlink attach: current namespace: %w", err)
	}
	x.nlFlags, x.nlNS, x.nlOn = flags, ns, true
	return nil
}

// detach removes the program from the interface (a no-op when it is not
// attached).
func (x *xdpProg) detach() error {
	if x.lnk != nil {
		err := x.lnk.Close()
		x.lnk = nil
		if err != nil {
			return fmt.Errorf("detach XDP link: %w", err)
		}
		return nil
	}
	if !x.nlOn {
		return nil
	}
	x.nlOn = false
	err := inNamespace(x.nlNS, func() error {
		l := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: x.ifindex}}
		return netlink.LinkSetXdpFdWithFlags(l, -1, x.nlFlags)
	})
	x.nlNS.Close()
	x.nlNS = -1
	if err != nil {
		return fmt.Errorf("netlink detach: %w", err)
	}
	return nil
}

// close detaches the program and releases the program and the map.
func (x *xdpProg) close() error {
	err := x.detach()
	x.prog.Close()
	x.xsks.Close()
	return err
}

// inNamespace runs fn on a thread in ns (the namespace the port was opened
// in), as netlink requests without a handle go to the calling thread's
// namespace.
func inNamespace(ns vns.NsHandle, fn func() error) error {
	cur, err := vns.Get()
	if err != nil {
		return err
	}
	defer cur.Close()
	if cur.Equal(ns) {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := vns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		ferr := fn()
		if err := vns.Set(cur); err != nil {
			// Stay locked: the runtime ends the thread with the goroutine.
			errc <- errors.Join(ferr, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// ErrBusy is wrapped by Open when the interface carries an XDP program that
// is not a stale one of ours (another program, or ours attached by a live
// process).
var ErrBusy = errors.New("interface already has an XDP program")

// removeStale looks at the program attached to the interface. A program
// named ProgramName attached over netlink was left by a switch that
// crashed on a kernel without XDP links: it is detached. A program attached
// with a bpf link belongs to a live process and cannot be detached over
// netlink (EBUSY): that, or any other program, gives ErrBusy.
func removeStale(nl *netlink.Handle, ifindex int) error {
	l, err := nl.LinkByIndex(ifindex)
	if err != nil {
		return err
	}
	xdp := l.Attrs().Xdp
	if xdp == nil || !xdp.Attached || xdp.ProgId == 0 {
		return nil
	}
	name := "?"
	if p, err := ebpf.NewProgramFromID(ebpf.ProgramID(xdp.ProgId)); err == nil {
		if info, err := p.Info(); err == nil {
			name = info.Name
		}
		p.Close()
	}
	if name != ProgramName {
		return fmt.Errorf("%w (id %d, %s)", ErrBusy, xdp.ProgId, name)
	}
	var flags int
	switch xdp.AttachMode {
	case 1: // XDP_ATTACHED_DRV
		flags = unix.XDP_FLAGS_DRV_MODE
	case 2: // XDP_ATTACHED_SKB
		flags = unix.XDP_FLAGS_SKB_MODE
	case 3: // XDP_ATTACHED_HW
		flags = unix.XDP_FLAGS_HW_MODE
	}
	if err := netlink.LinkSetXdpFdWithFlags(l, -1, flags); err != nil {
		if errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("%w (id %d, %s, held by a bpf link of a running process)", ErrBusy, xdp.ProgId, name)
		}
		return fmt.Errorf("remove stale XDP program %d: %w", xdp.ProgId, err)
	}
	return nil
}
