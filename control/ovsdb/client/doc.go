// Package client is an OVSDB (RFC 7047) client: calls, transactions, locks
// and a monitored replica of chosen tables and columns kept current like
// the Open vSwitch IDL. It works against gvswitch's own server and against
// a real ovsdb-server.
//
// Connect with Dial ("unix:PATH"; a relative "unix:NAME" resolves against
// the Rundir option, as ovs-vsctl resolves it against $OVS_RUNDIR), or
// NewClient on any net.Conn (e.g. net.Pipe served by server.ServeConn).
//
// Transactions are lists of operations built with Insert, Select, Update,
// Mutate, Delete, Wait, Comment and Assert; values use the RFC 7047 JSON
// notation (UUIDValue, NamedUUID, SetValue, MapValue, or an
// ovsdb.Datum's JSON). Transact returns one OpResult per operation and
// the first failure as an *ovsdb.Error, so callers can test its Tag
// ("constraint violation", "timed out", ...).
//
// Monitor starts a Replica (monitor_cond_since, falling back to
// monitor_cond and monitor). Its rows hold only the requested columns,
// defaults filled in. Changes/WaitFor wake on every update; OnUpdate
// receives each update's rows in order.
//
// Example: bump cur_cfg to next_cfg, as a switch daemon does after
// applying a configuration.
//
//	c, err := client.Dial(ctx, "unix:db.sock", client.Rundir("/var/run/gvswitch"))
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	r, err := c.Monitor(ctx, "Open_vSwitch", map[string][]string{
//		"Open_vSwitch": {"next_cfg", "cur_cfg"},
//	}, nil)
//	if err != nil {
//		return err
//	}
//	for u, row := range r.Table("Open_vSwitch") {
//		next := row["next_cfg"]
//		_, err = c.Transact(ctx, "Open_vSwitch",
//			client.Update("Open_vSwitch", client.WhereUUID(u),
//				map[string]any{"cur_cfg": next.JSON(&r.Schema().Table("Open_vSwitch").Column("cur_cfg").Type)}))
//	}
package client
