package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

func (s *Server) handleHealthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// handleReadyz answers 200 when the database and Redis answer within a second, else 503.
func (s *Server) handleReadyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "redis": "ok"}
	ready := true
	if err := s.db.Ping(ctx); err != nil {
		s.log.Warn("readiness: database does not answer", "err", err)
		checks["database"], ready = "unavailable", false
	}
	if err := s.redis.Ping(ctx).Err(); err != nil {
		s.log.Warn("readiness: redis does not answer", "err", err)
		checks["redis"], ready = "unavailable", false
	}
	if !ready {
		p := newProblem(http.StatusServiceUnavailable, "not_ready", "A dependency does not answer.")
		p.Checks = checks
		writeProblem(c, p)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "checks": checks})
}
