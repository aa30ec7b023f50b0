// Command gvs-devbind shows which driver each network device is bound to
// and binds devices to vfio-pci or uio_pci_generic for gvswitch, like
// dpdk-devbind.py and with its --status layout:
//
//	gvs-devbind --status
//	gvs-devbind --bind=vfio-pci ens1f0 0000:08:00.1
//	gvs-devbind -u 0000:08:00.1
//
// A device whose interface carries a route of the host (*Active*) is not
// touched without --force.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gvswitch/vfio"
)

const usage = `Usage: gvs-devbind [options] DEVICE...
  -s, --status            show how network devices are bound
      --status-dev=net    the same (network devices are the only kind shown)
  -b, --bind=DRIVER       bind DEVICEs (PCI address or interface) to DRIVER
                          (vfio-pci, uio_pci_generic, or a kernel driver)
  -u, --unbind            unbind DEVICEs from their driver
      --force             also modify devices that carry a route (*Active*)
      --sysfs-root=DIR    sysfs to use (default /sys)
      --proc-root=DIR     procfs to use (default /proc)
      --pci-ids=FILE      PCI name database (default pci.ids of pciutils/hwdata)
      --modules-alias=FILE  kernel module aliases
                          (default /lib/modules/$(uname -r)/modules.alias)
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, nil))
}

type config struct {
	status, unbind, force bool
	bind                  string
	devices               []string
	host                  vfio.Host
	pciIDs, modAlias      string
}

var errUsage = errors.New("usage")

func parseArgs(args []string) (config, error) {
	var c config
	value := func(i *int, a, name string) (string, error) {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, nil
		}
		if *i+1 >= len(args) {
			return "", fmt.Errorf("%s needs a value", name)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		var err error
		switch name, _, _ := strings.Cut(a, "="); name {
		case "-s", "--status":
			c.status = true
		case "--status-dev":
			var kind string
			if kind, err = value(&i, a, name); err == nil && kind != "net" {
				err = fmt.Errorf("--status-dev=%s: only net devices are known to gvs-devbind", kind)
			}
			c.status = true
		case "-u", "--unbind":
			c.unbind = true
		case "--force":
			c.force = true
		case "-b", "--bind":
			c.bind, err = value(&i, a, name)
		case "--sysfs-root":
			c.host.SysRoot, err = value(&i, a, name)
		case "--proc-root":
			c.host.ProcRoot, err = value(&i, a, name)
		case "--pci-ids":
			c.pciIDs, err = value(&i, a, name)
		case "--modules-alias":
			c.modAlias, err = value(&i, a, name)
		case "-h", "--help":
			return c, errUsage
		default:
			if strings.HasPrefix(a, "-") {
				return c, fmt.Errorf("unknown option %s", a)
			}
			c.devices = append(c.devices, a)
		}
		if err != nil {
			return c, err
		}
	}
	if c.bind != "" && c.unbind {
		return c, fmt.Errorf("--bind and --unbind are exclusive")
	}
	if (c.bind != "" || c.unbind) && len(c.devices) == 0 {
		return c, fmt.Errorf("no device given to bind or unbind")
	}
	if c.bind == "" && !c.unbind && len(c.devices) > 0 {
		return c, fmt.Errorf("devices given without --bind or --unbind")
	}
	if !c.status && c.bind == "" && !c.unbind {
		return c, errUsage
	}
	return c, nil
}

// run is the whole command; write replaces sysfs writes in tests.
func run(args []string, stdout, stderr io.Writer, write func(string, []byte) error) int {
	c, err := parseArgs(args)
	if errors.Is(err, errUsage) {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "gvs-devbind: %v\n%s", err, usage)
		return 2
	}
	c.host.WriteFile = write
	rc := 0
	for _, d := range c.devices {
		addr, err := c.host.Resolve(d)
		if err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			rc = 1
			continue
		}
		opt := vfio.BindOptions{Force: c.force}
		if c.unbind {
			err = c.host.Unbind(addr, opt)
		} else {
			err = c.host.Bind(addr, c.bind, opt)
		}
		if err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			rc = 1
		}
	}
	if c.status {
		if err := showStatus(stdout, c); err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
	}
	return rc
}
