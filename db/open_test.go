package db_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/require"
)

// A role started while PostgreSQL is down waits for it (connections refused for a second,
// then a server) instead of exiting.
func TestOpenWaitsForADatabaseThatIsNotUpYet(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	if !strings.HasPrefix(dbURL, "postgres") {
		t.Skip("a network database that is down; SQLite is a file in the process")
	}
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	target := u.Host
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // refused until the "server" comes up
	up := make(chan net.Listener, 1)
	go func() {
		time.Sleep(time.Second)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			close(up)
			return
		}
		up <- l
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer s.Close()
				go func() { _, _ = io.Copy(s, c) }()
				_, _ = io.Copy(c, s)
			}()
		}
	}()
	u.Host = addr
	d, err := db.Open(context.Background(), u.String(), "")
	require.NoError(t, err, "Open waits through refused connections")
	d.Close()
	if l, ok := <-up; ok {
		l.Close()
	}
}
