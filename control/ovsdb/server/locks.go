package server

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"gvswitch/control/jsonrpc"
	"gvswitch/control/ovsdb"
)

// locks implements RFC 7047 4.1.8-4.1.10: named locks, each with a queue
// of waiting sessions whose head owns the lock.
type locks struct {
	mu sync.Mutex
	m  map[string]*lock
}

type lock struct {
	waiters []waiter // waiters[0] owns the lock
}

type waiter struct {
	s     *session
	steal bool
}

func (l *locks) owns(s *session, name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lk := l.m[name]
	return lk != nil && len(lk.waiters) > 0 && lk.waiters[0].s == s
}

func (l *locks) find(lk *lock, s *session) int {
	return slices.IndexFunc(lk.waiters, func(w waiter) bool { return w.s == s })
}

// acquire queues s for the lock (at the front for steal) and returns
// whether it owns it and the session it was stolen from, if any.
func (l *locks) acquire(s *session, name string, steal bool) (owner bool, victim *session, err string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lk := l.m[name]
	if lk == nil {
		lk = &lock{}
		l.m[name] = lk
	}
	if l.find(lk, s) >= 0 {
		return false, nil, "already"
	}
	if steal {
		if len(lk.waiters) > 0 {
			victim = lk.waiters[0].s
			if lk.waiters[0].steal {
				// A stolen "steal" is not queued again.
				lk.waiters = lk.waiters[1:]
			}
		}
		lk.waiters = append([]waiter{{s, true}}, lk.waiters...)
	} else {
		lk.waiters = append(lk.waiters, waiter{s, false})
	}
	return lk.waiters[0].s == s, victim, ""
}

// release removes s from the lock's queue and returns the new owner, if
// ownership changed hands.
func (l *locks) release(s *session, name string) (newOwner *session, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lk := l.m[name]
	if lk == nil {
		return nil, false
	}
	i := l.find(lk, s)
	if i < 0 {
		return nil, false
	}
	lk.waiters = slices.Delete(lk.waiters, i, i+1)
	if len(lk.waiters) == 0 {
		delete(l.m, name)
		return nil, true
	}
	if i == 0 {
		return lk.waiters[0].s, true
	}
	return nil, true
}

func (l *locks) unlockAll(s *session) {
	l.mu.Lock()
	var names []string
	for name, lk := range l.m {
		if l.find(lk, s) >= 0 {
			names = append(names, name)
		}
	}
	l.mu.Unlock()
	for _, name := range names {
		if owner, _ := l.release(s, name); owner != nil {
			owner.sendMsg(jsonrpc.NewNotification("locked", []string{name}))
		}
	}
}

func (ss *session) lockMethod(m *jsonrpc.Message) {
	var p []any
	if json.Unmarshal(m.Params, &p) != nil || len(p) != 1 {
		ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, fmt.Sprintf("%s: lock name expected", m.Method), m.Params))
		return
	}
	name, ok := p[0].(string)
	if !ok || name == "" {
		ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, fmt.Sprintf("%s: lock name expected", m.Method), m.Params))
		return
	}
	locks := &ss.s.locks
	if m.Method == "unlock" {
		owner, ok := locks.release(ss, name)
		if !ok {
			ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, `unlock: "unlock" without "lock" or "steal"`, m.Params))
			return
		}
		ss.reply(m.ID, json.RawMessage("{}"))
		if owner != nil {
			owner.sendMsg(jsonrpc.NewNotification("locked", []string{name}))
		}
		return
	}
	owner, victim, err := locks.acquire(ss, name, m.Method == "steal")
	if err != "" {
		ss.replyError(m.ID, rpcError(ovsdb.TagSyntax, fmt.Sprintf(`must issue "unlock" before new %q`, m.Method), m.Params))
		return
	}
	if victim != nil && victim != ss {
		victim.sendMsg(jsonrpc.NewNotification("stolen", []string{name}))
	}
	ss.reply(m.ID, map[string]bool{"locked": owner})
}
