package api_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gavelhq/gavel/api"
	"github.com/gavelhq/gavel/db"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// proxy forwards TCP connections to target until it is stopped, which also cuts the
// connections it carries: PostgreSQL going away, as the API sees it.
type proxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func (p *proxy) start(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	require.NoError(t, err)
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
}

func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// With PostgreSQL unreachable the API answers 503 problems with Retry-After, and
// /readyz says so, without hanging; once it is back, the same instance serves again.
func TestDatabaseOutageIs503AndRecovers(t *testing.T) {
	t.Parallel()
	dbURL := testenv.DatabaseURL(t)
	if !strings.HasPrefix(dbURL, "postgres") {
		t.Skip("an outage of the network database; SQLite is a file in the process")
	}
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	p := &proxy{addr: "127.0.0.1:0", target: u.Host}
	p.start(t)
	u.Host = p.addr
	d, err := db.Open(context.Background(), u.String(), "")
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	rdb := testenv.Redis(t)
	t.Cleanup(func() { rdb.Close() })
	h := startServerWith(t, d, rdb, func(*api.Deps) {})
	ann := h.login("ann")
	require.Equal(t, http.StatusOK, ann.do("GET", "/api/v1/me", nil).status)

	p.stop()
	for _, path := range []string{"/api/v1/me", "/api/v1/auctions?sort=price_asc", "/readyz"} {
		res := ann.do("GET", path, nil)
		assert.Equal(t, http.StatusServiceUnavailable, res.status, "%s: %s", path, res.body)
		if path != "/readyz" {
			assert.Equal(t, "service_unavailable", res.problemCode(t))
			assert.Equal(t, "5", res.header.Get("Retry-After"))
		}
	}

	p.start(t) // the same address
	require.Eventually(t, func() bool {
		return ann.do("GET", "/api/v1/me", nil).status == http.StatusOK
	}, 15*time.Second, 100*time.Millisecond, "the instance serves again without a restart")
	assert.Equal(t, http.StatusOK, ann.do("GET", "/readyz", nil).status)
}
