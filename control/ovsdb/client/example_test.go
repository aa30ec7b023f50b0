package client_test

import (
	"context"
	"fmt"
	"net"

	"gvswitch/control/ovsdb"
	"gvswitch/control/ovsdb/client"
	"gvswitch/control/ovsdb/server"
)

// A switch daemon's loop in miniature: watch next_cfg, and once a
// configuration is applied, set cur_cfg to it (what ovs-vsctl without
// --no-wait waits for).
func Example() {
	schema, _ := ovsdb.ParseSchema(ovsdb.VSwitchSchema())
	srv := server.New(ovsdb.NewDatabase(schema))
	defer srv.Close()
	a, b := net.Pipe()
	go srv.ServeConn(b)
	c := client.NewClient(a)
	defer c.Close()
	ctx := context.Background()

	c.Transact(ctx, "Open_vSwitch", client.Insert("Open_vSwitch", "", map[string]any{"next_cfg": 3}))
	r, err := c.Monitor(ctx, "Open_vSwitch", map[string][]string{"Open_vSwitch": {"next_cfg", "cur_cfg"}}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for u, row := range r.Table("Open_vSwitch") {
		next := row["next_cfg"].Keys[0].(int64)
		c.Transact(ctx, "Open_vSwitch", client.Update("Open_vSwitch", client.WhereUUID(u), map[string]any{"cur_cfg": next}))
	}
	r.WaitFor(ctx, func(t map[string]map[ovsdb.UUID]ovsdb.Row) bool {
		for _, row := range t["Open_vSwitch"] {
			return row["cur_cfg"].Keys[0].(int64) == 3
		}
		return false
	})
	for _, row := range r.Table("Open_vSwitch") {
		fmt.Println("cur_cfg", row["cur_cfg"], "next_cfg", row["next_cfg"], "via", r.Method())
	}
	// Output: cur_cfg 3 next_cfg 3 via monitor_cond_since
}
