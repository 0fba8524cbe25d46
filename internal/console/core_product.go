package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// dynregSettings is a product's dynamic registration.
type dynregSettings struct {
	RegisterType  uint64
	ProductSecret string
	RegisterLimit uint64
}

// topicItem is a custom topic.
type topicItem struct {
	TopicName string
	Privilege uint64
}

// PrivilegeLabel names who may use the topic.
func (t topicItem) PrivilegeLabel() string {
	switch t.Privilege {
	case 1:
		return "publish"
	case 2:
		return "subscribe"
	case 3:
		return "publish and subscribe"
	default:
		return strconv.FormatUint(t.Privilege, 10)
	}
}

// productExtras carries the submitted values and field errors of the
// product page's forms when one is re-rendered.
type productExtras struct {
	TopicName string
	Privilege string
	Errors    map[string]string
}

// modelSummary counts what a thing model defines.
type modelSummary struct {
	Defined                     bool
	Properties, Events, Actions int
	Error                       string // the model could not be read
}

type productData struct {
	Product     productItem
	ProjectName string
	Dynreg      dynregSettings
	DynregError string
	Topics      []topicItem
	TopicsError string
	Model       modelSummary
	Form        productExtras
}

func (s *Server) productPage(w http.ResponseWriter, r *http.Request) {
	s.renderProduct(w, r, http.StatusOK, productExtras{Privilege: "3"}, "")
}

func (s *Server) renderProduct(w http.ResponseWriter, r *http.Request, status int, extras productExtras, pageErr string) {
	ctx := r.Context()
	pid := r.PathValue("pid")
	p, err := s.describeProduct(ctx, pid)
	if err != nil {
		st := statusOf(err)
		if status >= 400 && st < 500 {
			st = status
		}
		s.render(w, r, st, "product", page{Title: "Product " + pid, Nav: "products",
			Error: joinErrors(pageErr, "Product "+pid+": "+userMessage(err))})
		return
	}
	d := productData{Product: p, Form: extras}
	var proj struct{ Project projectItem }
	if err := s.call(ctx, "DescribeProject", map[string]string{"ProjectId": p.ProjectId}, &proj); err == nil {
		d.ProjectName = proj.Project.ProjectName
	}
	if err := s.call(ctx, "DescribeProductDynamicRegister", map[string]string{"ProductId": pid}, &d.Dynreg); err != nil {
		d.DynregError = userMessage(err)
	}
	var topics struct{ Topics []topicItem }
	if err := s.call(ctx, "ListTopicPolicy", map[string]string{"ProductId": pid}, &topics); err != nil {
		d.TopicsError = userMessage(err)
	}
	d.Topics = topics.Topics
	d.Model = s.summarizeModel(r, pid)
	s.render(w, r, status, "product", page{Title: p.ProductName, Nav: "products", Error: pageErr, Data: d})
}

func joinErrors(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

// summarizeModel counts the product's model entries.
func (s *Server) summarizeModel(r *http.Request, pid string) modelSummary {
	schema, err := s.modelSchema(r.Context(), pid)
	if err != nil {
		return modelSummary{Error: userMessage(err)}
	}
	if schema == "" {
		return modelSummary{}
	}
	var m struct {
		Properties []json.RawMessage `json:"properties"`
		Events     []json.RawMessage `json:"events"`
		Actions    []json.RawMessage `json:"actions"`
	}
	if err := json.Unmarshal([]byte(schema), &m); err != nil {
		return modelSummary{Defined: true, Error: "the stored model is not valid JSON: " + err.Error()}
	}
	return modelSummary{Defined: true, Properties: len(m.Properties), Events: len(m.Events), Actions: len(m.Actions)}
}

func (s *Server) modifyDynreg(w http.ResponseWriter, r *http.Request) {
	pid := r.PathValue("pid")
	typ, err1 := strconv.ParseUint(r.PostFormValue("RegisterType"), 10, 64)
	limit, err2 := strconv.ParseUint(strings.TrimSpace(r.PostFormValue("RegisterLimit")), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		s.renderProduct(w, r, http.StatusBadRequest, productExtras{Privilege: "3", Errors: map[string]string{
			"RegisterLimit": "Enter the registration mode and a limit of 0 or more devices.",
		}}, "")
		return
	}
	err := s.call(r.Context(), "ModifyProductDynamicRegister", map[string]any{
		"ProductId": pid, "RegisterType": typ, "RegisterLimit": limit,
	}, nil)
	if err != nil {
		errs, pageErr := fieldErrors(err, "RegisterType", "RegisterLimit")
		s.renderProduct(w, r, statusOf(err), productExtras{Privilege: "3", Errors: errs}, pageErr)
		return
	}
	redirectFlash(w, r, Prefix+"products/"+pid, "Dynamic registration settings saved.")
}

func (s *Server) createTopic(w http.ResponseWriter, r *http.Request) {
	pid := r.PathValue("pid")
	form := productExtras{TopicName: strings.TrimSpace(r.PostFormValue("TopicName")), Privilege: r.PostFormValue("Privilege")}
	priv, err := strconv.ParseUint(form.Privilege, 10, 64)
	if err != nil {
		form.Errors = map[string]string{"Privilege": "Choose publish, subscribe or both."}
		s.renderProduct(w, r, http.StatusBadRequest, form, "")
		return
	}
	err = s.call(r.Context(), "CreateTopicPolicy", map[string]any{
		"ProductId": pid, "TopicName": form.TopicName, "Privilege": priv,
	}, nil)
	if err != nil {
		var pageErr string
		form.Errors, pageErr = fieldErrors(err, "TopicName", "Privilege")
		if form.Errors == nil {
			form.Errors, pageErr = map[string]string{"TopicName": pageErr}, ""
		}
		s.renderProduct(w, r, statusOf(err), form, pageErr)
		return
	}
	redirectFlash(w, r, Prefix+"products/"+pid, "Topic "+form.TopicName+" created.")
}

func (s *Server) deleteTopic(w http.ResponseWriter, r *http.Request) {
	pid := r.PathValue("pid")
	name := r.PostFormValue("TopicName")
	if err := s.call(r.Context(), "DeleteTopicPolicy", map[string]string{"ProductId": pid, "TopicName": name}, nil); err != nil {
		s.renderProduct(w, r, statusOf(err), productExtras{Privilege: "3"}, "Could not delete topic "+name+": "+userMessage(err))
		return
	}
	redirectFlash(w, r, Prefix+"products/"+pid, "Topic "+name+" deleted.")
}
