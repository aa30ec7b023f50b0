package main

import (
	"errors"
	"io"
)

// embeddedDB is the database gvswitchd serves itself.
type embeddedDB interface {
	Dial() (io.ReadWriteCloser, error)
	Close() error
}

func startEmbeddedDB(c *config) (embeddedDB, error) {
	return nil, errors.New("embedded database not available yet; use --db=unix:PATH")
}
