// Package ixgbe is a poll-mode driver for Intel 82599 (X520) and X540 10
// GbE controllers (and the X550 where the same registers serve), written
// in Go from the controllers' datasheets: Open(pciAddr, Options) takes a
// PCI function bound to vfio-pci (or uio_pci_generic) through package
// vfio, runs the datasheet's initialisation sequence (82599 datasheet
// 4.6.3) and returns a *Port that implements dataplane.Port with N
// RSS-spread receive queues and N transmit queues, plus the Interface
// status (StatusReporter) and device statistics (ExtraStats) that
// OVS-DPDK shows for a dpdk port.
//
// The data path (RxBurst, TxBurst) works on bursts: descriptors in DMA
// memory outside the Go heap, one tail-register write per burst, no
// allocation, no lock per packet, no interrupts. Errors from the device —
// a reset that never completes, a link that never comes up, a queue that
// stops writing descriptors back — end in ErrTimeout or ErrTxHang within
// their timeouts, never in a hang.
//
// New runs the same driver over any Bus; the package's tests use it with
// a register-level device model of the controller (model_test.go), since
// the development machines have neither the NIC nor VFIO. README.md in
// the parent directory says what was verified against the model and what
// needs real hardware.
package ixgbe
