package api

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	ginsessions "github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"
)

const (
	sessionCookie = "gavel_session"
	sessionTTL    = 30 * 24 * time.Hour
	sessionPrefix = SessionKeyPrefix
	// rotateKey, set in a session's values, makes the store give it a new ID on Save and
	// delete the old one: a login never keeps a session ID chosen before it.
	rotateKey = "_rotate"
	userIDKey = "uid"
)

// redisStore keeps sessions in Redis under a random ID; the cookie carries only the ID,
// signed, so every API instance that shares Redis and the secret accepts it.
type redisStore struct {
	rdb     *redis.Client
	codecs  []securecookie.Codec
	options sessions.Options
}

var _ ginsessions.Store = (*redisStore)(nil)

func newRedisStore(rdb *redis.Client, secret []byte, secure bool) *redisStore {
	return &redisStore{
		rdb:    rdb,
		codecs: securecookie.CodecsFromPairs(secret),
		options: sessions.Options{
			Path: "/", MaxAge: int(sessionTTL / time.Second),
			HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
		},
	}
}

// Options implements gin-contrib/sessions' Store.
func (s *redisStore) Options(o ginsessions.Options) { s.options = *o.ToGorillaOptions() }

// Get returns the request's session, cached per request.
func (s *redisStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session named by the request's cookie, or starts an empty one.
// A missing, forged or expired cookie is an empty session, not an error.
func (s *redisStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	opts := s.options
	sess.Options = &opts
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	var id string
	if securecookie.DecodeMulti(name, c.Value, &id, s.codecs...) != nil {
		return sess, nil
	}
	data, err := s.rdb.Get(r.Context(), sessionPrefix+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return sess, nil
	}
	if err != nil {
		return sess, err
	}
	values, err := decodeSession(data)
	if err != nil {
		return sess, nil
	}
	sess.Values = values
	sess.ID, sess.IsNew = id, false
	return sess, nil
}

// SessionKeyPrefix starts the Redis keys of the sessions.
const SessionKeyPrefix = "gavel:session:"

// Save writes the session to Redis and sets the cookie; MaxAge < 0 deletes both.
func (s *redisStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	ctx := r.Context()
	if sess.Options.MaxAge < 0 {
		if sess.ID != "" {
			if err := s.rdb.Del(ctx, sessionPrefix+sess.ID).Err(); err != nil {
				return err
			}
		}
		// The store's cookie attributes (Secure included), so that the browser replaces
		// the very cookie it holds.
		o := s.options
		o.MaxAge = -1
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", &o))
		return nil
	}
	if _, rotate := sess.Values[rotateKey]; rotate {
		delete(sess.Values, rotateKey)
		if sess.ID != "" {
			if err := s.rdb.Del(ctx, sessionPrefix+sess.ID).Err(); err != nil {
				return err
			}
		}
		sess.ID = ""
	}
	if sess.ID == "" {
		sess.ID = newSessionID()
	}
	data, err := encodeSession(sess.Values)
	if err != nil {
		return err
	}
	ttl := time.Duration(sess.Options.MaxAge) * time.Second
	if err := s.rdb.Set(ctx, sessionPrefix+sess.ID, data, ttl).Err(); err != nil {
		return err
	}
	encoded, err := securecookie.EncodeMulti(sess.Name(), sess.ID, s.codecs...)
	if err != nil {
		return err
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), encoded, sess.Options))
	return nil
}

// encodeSession writes a session's values as a JSON object. Every request decodes one,
// and gob, which the sessions were stored in before, compiled its decoder each time: a
// tenth of the API's CPU under bidding load. Keys must be strings, values JSON-encodable.
func encodeSession(values map[any]any) ([]byte, error) {
	m := make(map[string]any, len(values))
	for k, v := range values {
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("session key %v is not a string", k)
		}
		m[key] = v
	}
	return json.Marshal(m)
}

// decodeSession reads what encodeSession wrote, whole numbers as int64, or a session
// stored in gob by an earlier version.
func decodeSession(data []byte) (map[any]any, error) {
	if len(data) == 0 || data[0] != '{' {
		values := map[any]any{}
		return values, gob.NewDecoder(bytes.NewReader(data)).Decode(&values)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	values := make(map[any]any, len(m))
	for k, v := range m {
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				v = i
			} else {
				v = n.String()
			}
		}
		values[k] = v
	}
	return values, nil
}

func newSessionID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionUserID returns the signed-in user's ID, or 0.
func sessionUserID(c *gin.Context) int64 {
	id, _ := ginsessions.Default(c).Get(userIDKey).(int64)
	return id
}

// startSession gives the request a fresh session ID that belongs to userID.
func startSession(c *gin.Context, userID int64) error {
	s := ginsessions.Default(c)
	s.Clear()
	s.Set(rotateKey, true)
	s.Set(userIDKey, userID)
	return s.Save()
}

// endSession deletes the request's session on the server and in the browser.
func endSession(c *gin.Context) error {
	s := ginsessions.Default(c)
	s.Clear()
	s.Options(ginsessions.Options{Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return s.Save()
}
