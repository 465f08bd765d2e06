package api

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/goccy/go-yaml"
)

//go:embed openapi.yaml
var openAPIYAML []byte

//go:embed docs.html
var docsHTML []byte

// OpenAPIYAML is the OpenAPI document as written, for tests and tools.
func OpenAPIYAML() []byte { return openAPIYAML }

var openAPIJSON = sync.OnceValue(func() []byte {
	var doc any
	if err := yaml.Unmarshal(openAPIYAML, &doc); err != nil {
		panic("api: openapi.yaml does not parse: " + err.Error())
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic("api: openapi.yaml does not convert to JSON: " + err.Error())
	}
	return b
})

func handleOpenAPI(c *gin.Context) {
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/json", openAPIJSON())
}

func handleDocs(c *gin.Context) {
	c.Data(http.StatusOK, "text/html; charset=utf-8", docsHTML)
}
