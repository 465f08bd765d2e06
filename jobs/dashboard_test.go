package jobs_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gavelhq/gavel/jobs"
	"github.com/gavelhq/gavel/testenv"
	"github.com/stretchr/testify/assert"
)

// FuzzRouter found it: asynqmon answered 500 to pausing a paused queue (and the like),
// which is the client's doing, not a failure of the server.
func TestDashboardAnswersImpossibleRequestsWith4xx(t *testing.T) {
	t.Parallel()
	rdb := testenv.Redis(t)
	t.Cleanup(func() { rdb.Close() })
	dash := jobs.Dashboard(rdb, "/ops/asynq")
	post := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		dash.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/ops/asynq/api/queues/"+path, nil))
		return rec
	}
	assert.Equal(t, http.StatusNoContent, post("low:pause").Code)
	rec := post("low:pause")
	assert.Equal(t, http.StatusConflict, rec.Code, "pausing a paused queue: %s", rec.Body)
	assert.Contains(t, rec.Body.String(), "already paused")
	assert.Equal(t, http.StatusNoContent, post("low:resume").Code)
	assert.Equal(t, http.StatusConflict, post("low:resume").Code, "resuming a running queue")

	rec = httptest.NewRecorder()
	dash.ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, "/ops/asynq/api/queues/default/pending_tasks/no-such-task", nil))
	assert.Less(t, rec.Code, 500, "deleting a task that does not exist: %s", rec.Body)
}
