// Package vfio gives a userspace driver what it needs from the kernel to
// run a PCI network device: the device as sysfs describes it (Host,
// Device: IDs, driver, NUMA node, IOMMU group, interfaces, whether it
// carries a route), binding it to vfio-pci or uio_pci_generic (Bind,
// Unbind), and, once bound, its registers and DMA: a VFIO container with
// the IOMMU type-1 mapping IOVA = virtual address (Container, Group,
// PCIDevice: BAR mmap, config space, bus mastering), or the
// uio_pci_generic fallback that gives physical addresses from
// /proc/self/pagemap. It also finds hugepage memory for DMA (hugetlbfs
// mounts, per-NUMA-node free pages, dpdk-socket-mem planning).
//
// The ixgbe driver (vfio/ixgbe) is the user; cmd/gvs-devbind is the
// administrator's tool. Host's roots point at a fake sysfs/proc tree in
// tests; vfio/pcitest acts as the kernel for bind and unbind on such a
// tree.
package vfio
