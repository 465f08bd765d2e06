package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// maxJSONBody is the largest JSON request body accepted.
const maxJSONBody = 64 << 10

// decodeJSON reads a JSON request body into dst. It refuses a body that is not
// application/json (415), larger than 64 KiB (413), malformed, of the wrong types, with
// unknown fields, trailing data or a string with a control character (400), naming the
// field where it can; a body that does not arrive in time is 408.
func decodeJSON(r *http.Request, dst any) *Problem {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return newProblem(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"The body must be JSON, sent with Content-Type: application/json.")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	if err != nil {
		return bodyProblem(err, "body")
	}
	if len(body) > maxJSONBody {
		return newProblem(http.StatusRequestEntityTooLarge, "payload_too_large",
			fmt.Sprintf("The body is larger than %d bytes.", maxJSONBody))
	}
	return decodeJSONBytes(body, dst)
}

// decodeJSONBytes is the part of decodeJSON that reads the bytes; the fuzz target calls it.
func decodeJSONBytes(body []byte, dst any) *Problem {
	if len(bytes.TrimSpace(body)) == 0 {
		return invalid("body", "is empty; a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("body", "has data after the JSON object")
	}
	return stringsProblem(dst)
}

func jsonProblem(err error) *Problem {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return invalid("body", "must be a JSON object")
		}
		return invalid(typeErr.Field, "must be "+describeType(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr):
		return invalid("body", fmt.Sprintf("is not valid JSON (at byte %d)", syntaxErr.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("body", "is not valid JSON (it ends too early)")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid(field, "is not a known field")
	default:
		return invalid("body", "is not valid JSON")
	}
}

func describeType(kind string) string {
	switch kind {
	case "int64", "int", "int32":
		return "an integer"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	default:
		return "of type " + kind
	}
}

func jsonMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
