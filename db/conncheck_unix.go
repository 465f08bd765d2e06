//go:build unix

package db

import (
	"net"
	"syscall"
)

// closedByServer reports whether the server has closed c or sent it something unasked
// (PostgreSQL's last words before it closes a session: a FATAL error at a shutdown or a
// pg_terminate_backend), without waiting and without taking what it sent: one recv with
// MSG_PEEK and MSG_DONTWAIT. Anything unasked drops the connection, which costs at worst a
// new one. A connection whose socket it cannot reach (TLS) is taken as open.
func closedByServer(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	var b [1]byte
	if err := raw.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// No error: a byte unasked, or none at the end of the stream. EAGAIN: nothing to
		// read, so open.
		closed = err != syscall.EAGAIN && err != syscall.EWOULDBLOCK && err != syscall.EINTR
		return true // done: never wait for the socket to become readable
	}); err != nil {
		return true
	}
	return closed
}
