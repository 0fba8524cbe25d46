package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// codeModelDefineNil is the API's answer for a product without a model.
const codeModelDefineNil = "InvalidParameterValue.ModelDefineNil"

// modelError is one problem of a submitted thing model.
type modelError struct {
	ID      string // the property, event or action id ("" : the whole model)
	Message string
	Code    string // the API error code ("" : found by the console)
}

type modelData struct {
	Product    productItem
	Schema     string
	UpdateTime int64
	Errors     []modelError
	Templates  []modelTemplateData
}

// modelTemplateData is a starter template as the page embeds it.
type modelTemplateData struct {
	ID, Label, JSON string
}

// modelSchema returns the product's thing model JSON ("" when it has none).
func (s *Server) modelSchema(ctx context.Context, pid string) (string, error) {
	schema, _, err := s.describeModel(ctx, pid)
	return schema, err
}

func (s *Server) describeModel(ctx context.Context, pid string) (string, int64, error) {
	var resp struct {
		Model struct {
			ModelDefine string
			UpdateTime  int64
		}
	}
	err := s.call(ctx, "DescribeModelDefinition", map[string]string{"ProductId": pid}, &resp)
	var ae *ActionError
	if errors.As(err, &ae) && ae.Code == codeModelDefineNil {
		return "", 0, nil
	}
	return resp.Model.ModelDefine, resp.Model.UpdateTime, err
}

// prettyJSON indents valid JSON; anything else is returned unchanged.
func prettyJSON(s string) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(s), "", "  "); err != nil {
		return s
	}
	return buf.String()
}

func (s *Server) modelPage(w http.ResponseWriter, r *http.Request) {
	pid := r.PathValue("pid")
	schema, updated, err := s.describeModel(r.Context(), pid)
	if err != nil {
		s.renderModel(w, r, statusOf(err), modelData{}, "Could not read the thing model: "+userMessage(err))
		return
	}
	s.renderModel(w, r, http.StatusOK, modelData{Schema: prettyJSON(schema), UpdateTime: updated}, "")
}

// renderModel renders the editor with d's textarea content and errors.
func (s *Server) renderModel(w http.ResponseWriter, r *http.Request, status int, d modelData, pageErr string) {
	ctx := r.Context()
	pid := r.PathValue("pid")
	p, err := s.describeProduct(ctx, pid)
	if err != nil {
		s.render(w, r, statusOf(err), "model", page{Title: "Thing model", Nav: "products",
			Error: "Product " + pid + ": " + userMessage(err), Data: modelData{Product: productItem{ProductId: pid}}})
		return
	}
	d.Product = p
	for _, t := range starterTemplates() {
		d.Templates = append(d.Templates, modelTemplateData{ID: t.ID, Label: t.Label, JSON: t.forProduct(pid)})
	}
	s.render(w, r, status, "model", page{Title: "Thing model of " + p.ProductName, Nav: "products", Error: pageErr, Data: d})
}

func (s *Server) saveModel(w http.ResponseWriter, r *http.Request) {
	pid := r.PathValue("pid")
	text := r.PostFormValue("ModelSchema")
	if strings.TrimSpace(text) == "" {
		s.renderModel(w, r, http.StatusBadRequest, modelData{Schema: text, Errors: []modelError{{Message: "The model is empty: pick a starter template or paste a model."}}}, "")
		return
	}
	if e, ok := jsonSyntaxError([]byte(text)); !ok {
		s.renderModel(w, r, http.StatusBadRequest, modelData{Schema: text, Errors: []modelError{e}}, "")
		return
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(text)); err != nil { // checked just above
		s.renderModel(w, r, http.StatusBadRequest, modelData{Schema: text, Errors: []modelError{{Message: err.Error()}}}, "")
		return
	}
	err := s.call(r.Context(), "ModifyModelDefinition", map[string]string{"ProductId": pid, "ModelSchema": compact.String()}, nil)
	if err != nil {
		s.renderModel(w, r, statusOf(err), modelData{Schema: text, Errors: []modelError{modelErrorOf(err)}}, "")
		return
	}
	redirectFlash(w, r, Prefix+"products/"+pid+"/model", "Thing model saved.")
}

// jsonSyntaxError checks that b is one JSON object and, if it is not,
// says where the problem is (line and column, 1-based).
func jsonSyntaxError(b []byte) (modelError, bool) {
	var v any
	err := json.Unmarshal(b, &v)
	if err == nil {
		if _, ok := v.(map[string]any); !ok {
			return modelError{Message: "The model must be a JSON object ({ ... })."}, false
		}
		return modelError{}, true
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(b, se.Offset)
		return modelError{Message: fmt.Sprintf("JSON syntax error at line %d, column %d: %s", line, col, se.Error())}, false
	}
	return modelError{Message: "JSON error: " + err.Error()}, false
}

// lineCol converts a byte offset of b (as json.SyntaxError.Offset, the
// number of bytes read before the error) into a 1-based line and column
// (columns count characters, not bytes).
func lineCol(b []byte, offset int64) (line, col int) {
	if offset > int64(len(b)) {
		offset = int64(len(b))
	}
	if offset < 0 {
		offset = 0
	}
	before := b[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	col = len([]rune(string(before[start:])))
	if col == 0 {
		col = 1
	}
	return line, col
}

// modelErrorOf turns a ModifyModelDefinition error into a modelError. The
// API says `parameter ModelSchema: "brightness": min 100 > max 0`.
func modelErrorOf(err error) modelError {
	var ae *ActionError
	if !errors.As(err, &ae) {
		return modelError{Message: err.Error()}
	}
	e := modelError{Message: ae.Message, Code: ae.Code}
	rest, ok := strings.CutPrefix(ae.Message, "parameter ModelSchema: ")
	if !ok {
		return e
	}
	e.Message = rest
	if id, tail, ok := cutQuoted(rest); ok {
		e.ID, e.Message = id, strings.TrimPrefix(tail, ": ")
	}
	return e
}

// cutQuoted splits a leading Go-quoted string off s.
func cutQuoted(s string) (string, string, bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", s, false
	}
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", s, false
	}
	id, err := strconv.Unquote(q)
	if err != nil {
		return "", s, false
	}
	return id, s[len(q):], true
}
