package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is one role or server process. It remembers exits it did not cause: a role that
// dies by itself fails the run.
type proc struct {
	name string
	args []string
	env  []string
	logf *os.File

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the current process has exited
	expected bool          // the current process is being killed or stopped by the run
	died     []string      // exits nobody asked for
	// supervise restarts the process a second after an exit nobody asked for, as the
	// deployments' supervisors do (docker compose's restart: unless-stopped).
	supervise bool
	done      bool // the run is over: no more restarts
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(p.args[0], p.args[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = p.logf, p.logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd, p.exited, p.expected = cmd, make(chan struct{}), false
	go p.wait(cmd, p.exited)
	return nil
}

func (p *proc) wait(cmd *exec.Cmd, exited chan struct{}) {
	err := cmd.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.expected && p.cmd == cmd {
		p.died = append(p.died, fmt.Sprintf("%s exited by itself at %s: %v (last log line: %s)", p.name,
			time.Now().Format("15:04:05.000"), err, lastLine(p.logf.Name())))
		if p.supervise && !p.done {
			go p.restartLater(cmd)
		}
	}
	close(exited)
}

func (p *proc) restartLater(cmd *exec.Cmd) {
	time.Sleep(time.Second)
	p.mu.Lock()
	again := p.cmd == cmd && !p.done
	p.mu.Unlock()
	if again {
		if err := p.start(); err != nil {
			p.mu.Lock()
			p.died = append(p.died, fmt.Sprintf("%s: the supervisor could not restart it: %v", p.name, err))
			p.mu.Unlock()
		}
	}
}

// lastLine is the last line of a log file, what a role says when it gives up.
func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// kill sends sig and waits for the process to exit: a kill that does not take is a fault
// that failed to inject.
func (p *proc) kill(sig syscall.Signal, within time.Duration) error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	if cmd == nil {
		p.mu.Unlock()
		return fmt.Errorf("%s was never started", p.name)
	}
	select {
	case <-exited:
		p.mu.Unlock()
		return fmt.Errorf("%s was not running", p.name)
	default:
	}
	p.expected = true
	err := cmd.Process.Signal(sig)
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(within):
		return fmt.Errorf("%s still running %s after %v", p.name, within, sig)
	}
}

// stop ends the process at the end of the run.
func (p *proc) stop() {
	p.mu.Lock()
	p.done = true
	p.mu.Unlock()
	if err := p.kill(syscall.SIGTERM, 5*time.Second); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = p.kill(syscall.SIGKILL, time.Second)
	}
}

// unexpectedExits lists the exits nobody asked for, and a process not running at the end.
func (p *proc) unexpectedExits() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.died...)
}

// closeInheritedOnExec marks every file descriptor above stderr close-on-exec. The run
// is usually started under `flock LOCK make chaos`, whose lock descriptor it inherits:
// without this, the PostgreSQL server that the fault starts again would inherit it too,
// and hold the lock for as long as it runs.
func closeInheritedOnExec() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return // not Linux: nothing known to leak
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}
