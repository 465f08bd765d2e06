package api

import (
	"net/http"

	ginsessions "github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

// routes lists every route of the API in one place.
func (s *Server) routes(store *redisStore, dashboard http.Handler) {
	r := s.engine
	r.Use(s.recoverer(), securityHeaders, requestID(), s.observe(), noControlChars, bodyDeadline(s.bodyTimeout),
		s.origins.cors, s.origins.crossOrigin)
	r.NoRoute(func(c *gin.Context) {
		writeProblem(c, newProblem(http.StatusNotFound, "not_found", "There is nothing at this path."))
	})
	r.NoMethod(func(c *gin.Context) {
		writeProblem(c, newProblem(http.StatusMethodNotAllowed, "method_not_allowed", "This path does not accept that method."))
	})

	r.GET("/healthz", s.handleHealthz)
	r.GET("/readyz", s.handleReadyz)
	r.GET("/openapi.json", handleOpenAPI)
	r.GET("/docs", handleDocs)

	withSession := ginsessions.Sessions(sessionCookie, store)
	ops := r.Group("/ops", withSession, s.requireAdmin)
	if dashboard != nil {
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			ops.Handle(method, "/asynq/*path", gin.WrapH(dashboard))
		}
	}

	v1 := r.Group("/api/v1", withSession)
	v1.POST("/users", s.handleSignUp)
	v1.POST("/sessions", s.handleLogin)
	v1.GET("/auctions", s.handleListAuctions)
	v1.GET("/auctions/:id", s.handleGetAuction)
	v1.GET("/images/:id", s.handleImage)
	v1.GET("/auctions/:id/bids", s.handleAuctionBids)
	v1.GET("/auctions/:id/stream", s.handleAuctionStream)

	me := v1.Group("", s.requireUser)
	me.DELETE("/sessions/current", s.handleLogout)
	me.GET("/me", s.handleMe)
	me.POST("/me/points/charges", s.handleCharge)
	me.GET("/me/points/ledger", s.handleLedger)
	me.GET("/me/auctions", s.handleListMyAuctions)
	me.POST("/auctions", s.handleCreateAuction)
	me.PATCH("/auctions/:id", s.handleUpdateAuction)
	me.DELETE("/auctions/:id", s.handleDeleteAuction)
	me.POST("/auctions/:id/images", s.handleUploadImage)
	me.DELETE("/auctions/:id/images/:image_id", s.handleDeleteImage)
	me.POST("/auctions/:id/bids", s.handlePlaceBid)
	me.POST("/auctions/:id/buy", s.handleBuyNow)
	me.GET("/bids/:id", s.handleGetBid)
	me.GET("/me/bids", s.handleMyBids)
	me.PUT("/auctions/:id/like", s.handleLike)
	me.DELETE("/auctions/:id/like", s.handleUnlike)
	me.PUT("/auctions/:id/subscription", s.handleSubscribe)
	me.DELETE("/auctions/:id/subscription", s.handleUnsubscribe)
	me.GET("/me/subscriptions", s.handleMySubscriptions)
	me.GET("/me/recommendations", s.handleRecommendations)
	me.GET("/me/notifications", s.handleNotifications)
	me.POST("/me/notifications/read", s.handleMarkRead)
	me.GET("/me/notifications/stream", s.handleNotificationStream)
}
