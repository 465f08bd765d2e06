// Package jobs is the queue contract between the API, the workers and the scheduler:
// queue names and weights, task types with their payloads and constructors, and the
// Asynq client and dashboard built on the program's one Redis client.
package jobs

import (
	"net/http"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/redis/go-redis/v9"
)

// Queues and their weights: bid decisions, releases and closes first, notifications
// next, bid logs and analytics last.
const (
	QueueCritical = "critical"
	QueueDefault  = "default"
	QueueLow      = "low"
)

// QueueWeights is the share of the workers' attention each queue gets.
var QueueWeights = map[string]int{QueueCritical: 6, QueueDefault: 3, QueueLow: 1}

// redisClientOpt hands Asynq an existing go-redis client instead of connection details,
// so the program keeps one pool per Redis.
type redisClientOpt struct{ c redis.UniversalClient }

func (o redisClientOpt) MakeRedisClient() any { return o.c }

// ConnOpt is the asynq connection option that uses rdb.
func ConnOpt(rdb redis.UniversalClient) asynq.RedisConnOpt { return redisClientOpt{rdb} }

// NewClient returns an Asynq client that shares rdb; it needs no Close of its own.
func NewClient(rdb redis.UniversalClient) *asynq.Client { return asynq.NewClientFromRedisClient(rdb) }

// Dashboard is asynqmon, rooted at rootPath; the API mounts it behind its admin check.
// asynqmon answers 500 to every error of Asynq's inspector, also to the requests that ask
// for something the queues' state rules out (pausing a paused queue, a task or queue that
// does not exist); those become 409 or 404, so that a 500 still means the server failed.
func Dashboard(rdb redis.UniversalClient, rootPath string) http.Handler {
	mon := asynqmon.New(asynqmon.Options{RootPath: rootPath, RedisConnOpt: ConnOpt(rdb)})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw := &dashboardWriter{ResponseWriter: w}
		mon.ServeHTTP(mw, r)
		mw.finish()
	})
}

// dashboardWriter holds back a 500 until its body (asynqmon's http.Error text) says
// whether the client asked for something impossible.
type dashboardWriter struct {
	http.ResponseWriter
	held bool // a 500 not written yet
	done bool // the status line is written
}

func (w *dashboardWriter) WriteHeader(code int) {
	if w.done || w.held {
		return
	}
	if code == http.StatusInternalServerError {
		w.held = true
		return
	}
	w.done = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *dashboardWriter) Write(b []byte) (int, error) {
	if w.held {
		w.held, w.done = false, true
		w.ResponseWriter.WriteHeader(dashboardStatus(string(b)))
	}
	w.done = true
	return w.ResponseWriter.Write(b)
}

func (w *dashboardWriter) finish() {
	if w.held {
		w.held, w.done = false, true
		w.ResponseWriter.WriteHeader(http.StatusInternalServerError)
	}
}

func (w *dashboardWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// dashboardStatus is the status for an error text of Asynq's inspector: 404 when what was
// named does not exist, 409 when the queue's or task's state rules the request out, else
// 500.
func dashboardStatus(msg string) int {
	switch {
	case strings.Contains(msg, "not found"), strings.Contains(msg, "does not exist"), strings.Contains(msg, "cannot find"):
		return http.StatusNotFound
	case strings.Contains(msg, "already paused"), strings.Contains(msg, "is not paused"),
		strings.Contains(msg, "is not empty"), strings.Contains(msg, "already archived"),
		strings.Contains(msg, "cannot delete task in active state"), strings.Contains(msg, "cannot archive task in active state"),
		strings.Contains(msg, "cannot run task in active state"), strings.Contains(msg, "already running"):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}
