package client

import (
	"context"
	"encoding/json"
)

// Lock asks for the named lock (RFC 7047 4.1.8). It returns whether the
// lock was granted at once; otherwise the client waits in the queue and
// HasLock turns true when a "locked" notification arrives.
func (c *Client) Lock(ctx context.Context, name string) (bool, error) {
	return c.lockCall(ctx, "lock", name)
}

// Steal takes the named lock from its owner (RFC 7047 4.1.10).
func (c *Client) Steal(ctx context.Context, name string) (bool, error) {
	return c.lockCall(ctx, "steal", name)
}

func (c *Client) lockCall(ctx context.Context, method, name string) (bool, error) {
	c.mu.Lock()
	c.locks[name] = false
	c.mu.Unlock()
	var res struct {
		Locked bool `json:"locked"`
	}
	if err := c.Call(ctx, method, []any{name}, &res); err != nil {
		c.mu.Lock()
		delete(c.locks, name)
		c.mu.Unlock()
		return false, err
	}
	c.mu.Lock()
	if res.Locked {
		c.locks[name] = true
	}
	locked := c.locks[name]
	c.mu.Unlock()
	return locked, nil
}

// Unlock releases (or stops waiting for) the named lock.
func (c *Client) Unlock(ctx context.Context, name string) error {
	var res json.RawMessage
	err := c.Call(ctx, "unlock", []any{name}, &res)
	c.mu.Lock()
	delete(c.locks, name)
	c.mu.Unlock()
	return err
}

// HasLock reports whether the client currently owns the named lock.
func (c *Client) HasLock(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.locks[name]
}

// OnLockChange sets a function called (from the client's reader) when a
// "locked" or "stolen" notification arrives. It must not block.
func (c *Client) OnLockChange(fn func(name string, locked bool)) {
	c.mu.Lock()
	c.lockCB = fn
	c.mu.Unlock()
}
