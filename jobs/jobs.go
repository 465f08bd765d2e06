// Package jobs is the queue contract between the API, the workers and the scheduler:
// queue names and weights, task types with their payloads and constructors, and the
// Asynq client and dashboard built on the program's one Redis client.
package jobs

import (
	"net/http"

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
func Dashboard(rdb redis.UniversalClient, rootPath string) http.Handler {
	return asynqmon.New(asynqmon.Options{RootPath: rootPath, RedisConnOpt: ConnOpt(rdb)})
}
