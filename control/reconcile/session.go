package reconcile

import (
	"context"
	"errors"
	"fmt"
	"net"

	"gvswitch/control/ovsdb"
	"gvswitch/control/ovsdb/client"
)

// Errors of the database session.
var (
	// ErrClosed: the session's connection is gone.
	ErrClosed = errors.New("reconcile: database connection closed")
	// ErrTxn: the server refused a transaction (wrapped with its error).
	ErrTxn = errors.New("reconcile: transaction failed")
)

// LockName is the OVSDB lock ovs-vswitchd holds; holding it makes sure
// only one switch daemon drives a database.
const LockName = "ovs_vswitchd"

// Tables the daemon monitors (all columns of each).
var monitoredTables = []string{"Open_vSwitch", "Bridge", "Port", "Interface", "Controller"}

// replica is the daemon's copy of the monitored tables: a snapshot taken
// from the client's replica after each update, read under Daemon.mu.
type replica map[string]map[ovsdb.UUID]ovsdb.Row

// session is the daemon's OVSDB connection, through package
// ovsdb/client: it works the same over net.Pipe to the embedded server and
// over a unix socket to ovsdb-server.
type session struct {
	c      *client.Client
	r      *client.Replica
	schema *ovsdb.Schema
	ctx    context.Context
	// config is signalled after an update that changed the configuration
	// (see configChanged).
	config chan struct{}
}

// startSession runs the opening sequence ovs-vswitchd uses (see
// vswitchd-as-client/summary.txt): lock, monitor, set_db_change_aware.
// It returns once the lock is held and the replica holds the initial
// contents.
func startSession(ctx context.Context, conn net.Conn, db string) (*session, error) {
	c := client.NewClient(conn)
	s := &session{c: c, ctx: ctx, config: make(chan struct{}, 1)}
	granted := make(chan struct{}, 1)
	c.OnLockChange(func(name string, locked bool) {
		if name == LockName && locked {
			select {
			case granted <- struct{}{}:
			default:
			}
		}
	})
	locked, err := c.Lock(ctx, LockName)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("lock %s: %w", LockName, err)
	}
	if !locked {
		log.Info("waiting for lock %q held by another client (is ovs-vswitchd running?)", LockName)
		select {
		case <-granted:
		case <-c.Done():
			return nil, fmt.Errorf("%w: %v", ErrClosed, c.Err())
		case <-ctx.Done():
			c.Close()
			return nil, ctx.Err()
		}
	}
	tables := map[string][]string{}
	for _, t := range monitoredTables {
		tables[t] = nil // all columns
	}
	s.r, err = c.Monitor(ctx, db, tables, &client.MonitorOptions{OnUpdate: func(dl *client.Delta) {
		if configChanged(dl) {
			select {
			case s.config <- struct{}{}:
			default:
			}
		}
	}})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("monitor %s: %w", db, err)
	}
	s.schema = s.r.Schema()
	// Only clustered databases need it; ovsdb-server accepts it always.
	c.Call(ctx, "set_db_change_aware", []any{true}, nil)
	return s, nil
}

// snapshot copies the replica's monitored tables.
func (s *session) snapshot() replica {
	out := replica{}
	for _, t := range monitoredTables {
		out[t] = s.r.Table(t)
	}
	return out
}

// changes is closed at the next update (or when the connection is lost).
func (s *session) changes() <-chan struct{} { return s.r.Changes() }

// configUpdates receives after updates that changed the configuration,
// once the replica holds them (several may come as one).
func (s *session) configUpdates() <-chan struct{} { return s.config }

// statusColumns are the columns the switch writes itself, per table: the
// status it reports. An update that changes nothing else (the echo of the
// switch's own status writes) needs no reconfiguration; ovs-vswitchd's IDL
// does not wake it for these either (ovsdb_idl_omit_alert).
var statusColumns = map[string]map[string]bool{
	"Open_vSwitch": {"cur_cfg": true, "dpdk_initialized": true, "dpdk_version": true},
	"Bridge":       {"datapath_id": true, "datapath_version": true, "status": true},
	"Port":         {"bond_active_slave": true},
	"Interface": {"ofport": true, "error": true, "mac_in_use": true, "mtu": true, "link_state": true,
		"ifindex": true, "admin_state": true, "status": true, "statistics": true, "lacp_current": true},
	"Controller": {"is_connected": true, "status": true},
}

// configChanged reports whether an update changed more than status
// columns: a row inserted or deleted, or a column not in statusColumns.
func configChanged(dl *client.Delta) bool {
	if dl.Initial {
		return true
	}
	for _, ru := range dl.Rows {
		if ru.Old == nil || ru.New == nil {
			return true
		}
		status := statusColumns[ru.Table]
		for col, v := range ru.New {
			if status[col] {
				continue
			}
			if o, ok := ru.Old[col]; !ok || !o.Equal(v) {
				return true
			}
		}
		for col := range ru.Old {
			if _, ok := ru.New[col]; !ok && !status[col] {
				return true
			}
		}
	}
	return false
}

// done is closed when the connection is lost.
func (s *session) done() <-chan struct{} { return s.c.Done() }

// err is why the connection was lost.
func (s *session) err() error { return fmt.Errorf("%w: %v", ErrClosed, s.c.Err()) }

func (s *session) close() { s.c.Close() }

// op is one operation of a transaction, as JSON.
type op map[string]any

// updateOp is an "update" of one row by UUID.
func updateOp(table string, u ovsdb.UUID, row map[string]any) op {
	return op{"op": "update", "table": table, "where": client.WhereUUID(u), "row": row}
}

// transact runs ops plus an assert of our lock, as ovs-vswitchd does, so
// that a daemon that lost the lock can change nothing. A lost connection
// wraps ErrClosed, a refused transaction ErrTxn.
func (s *session) transact(db string, ops []op) error {
	args := make([]any, 0, len(ops)+1)
	for _, o := range ops {
		args = append(args, o)
	}
	args = append(args, op{"op": "assert", "lock": LockName})
	if _, err := s.c.Transact(s.ctx, db, args...); err != nil {
		select {
		case <-s.c.Done():
			return fmt.Errorf("%w: %v", ErrClosed, err)
		default:
		}
		return fmt.Errorf("%w: %v", ErrTxn, err)
	}
	return nil
}
