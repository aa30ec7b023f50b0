package fdb_test

import (
	"os"
	"time"

	"gvswitch/fdb"
)

func ExampleTable() {
	t, _ := fdb.New(0, 0) // mac-table-size 8192, mac-aging-time 300 s
	now := int64(0)
	t.Learn(300, [6]byte{0x52, 0x54, 0, 0, 2, 2}, 1, now)
	now += int64(57 * time.Second)
	t.Learn(300, [6]byte{0x52, 0x54, 0, 0, 1, 1}, 3, now)
	fdb.WriteShow(os.Stdout, t.Entries(), now+int64(4*time.Second), nil)
	t.Expire(now + int64(301*time.Second))
	fdb.WriteStats(os.Stdout, "br0", t.Stats())
	// Output:
	//  port  VLAN  MAC                Age
	//     1   300  52:54:00:00:02:02   61
	//     3   300  52:54:00:00:01:01    4
	// Statistics for bridge "br0":
	//   Current/maximum MAC entries in the table: 0/8192
	//   Current static MAC entries in the table : 0
	//   Total number of learned MAC entries     : 2
	//   Total number of expired MAC entries     : 2
	//   Total number of evicted MAC entries     : 0
	//   Total number of port moved MAC entries  : 0
}
