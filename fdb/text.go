package fdb

import (
	"fmt"
	"io"
	"strconv"
)

// LocalPort is the OpenFlow number of a bridge's own internal port
// (OFPP_LOCAL), printed as "LOCAL".
const LocalPort = 65534

// PortString renders an OpenFlow port number as OVS does in fdb/show.
func PortString(port uint32) string {
	if port == LocalPort {
		return "LOCAL"
	}
	return strconv.FormatUint(uint64(port), 10)
}

// WriteShow writes entries in the layout of ovs-appctl fdb/show:
//
//	port  VLAN  MAC                Age
//	   1   300  52:54:00:00:02:02   61
//
// portName renders a port column (nil: PortString); a bond shows as one of
// its members' OpenFlow numbers, which the caller knows.
func WriteShow(w io.Writer, entries []Entry, now int64, portName func(uint32) string) error {
	if portName == nil {
		portName = PortString
	}
	if _, err := io.WriteString(w, " port  VLAN  MAC                Age\n"); err != nil {
		return err
	}
	for _, e := range entries {
		var err error
		if e.Static {
			_, err = fmt.Fprintf(w, "%5s  %4d  %s  static\n", portName(e.Port), e.VLAN, e.MAC)
		} else {
			_, err = fmt.Fprintf(w, "%5s  %4d  %s  %3d\n", portName(e.Port), e.VLAN, e.MAC, e.Age(now))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// WriteStats writes s in the layout of ovs-appctl fdb/stats-show BRIDGE.
func WriteStats(w io.Writer, bridge string, s Stats) error {
	_, err := fmt.Fprintf(w, "Statistics for bridge \"%s\":\n"+
		"  Current/maximum MAC entries in the table: %d/%d\n"+
		"  Current static MAC entries in the table : %d\n"+
		"  Total number of learned MAC entries     : %d\n"+
		"  Total number of expired MAC entries     : %d\n"+
		"  Total number of evicted MAC entries     : %d\n"+
		"  Total number of port moved MAC entries  : %d\n",
		bridge, s.Current, s.Max, s.Static, s.Learned, s.Expired, s.Evicted, s.Moved)
	return err
}
