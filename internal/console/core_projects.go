package console

import (
	"context"
	"net/http"
	"strings"
)

// projectItem is a project as GetProjectList returns it.
type projectItem struct {
	ProjectId    string
	ProjectName  string
	ProjectDesc  string
	CreateTime   int64
	ProductCount int64
	DeviceCount  int64
}

type projectsData struct {
	Projects []projectItem
	Form     projectForm
	Pager    pager
}

// projectForm is the create-project form as submitted.
type projectForm struct {
	ProjectName string
	ProjectDesc string
	Errors      map[string]string
}

// listProjects returns one page of projects and the total.
func (s *Server) listProjects(ctx context.Context, offset, limit int64) ([]projectItem, int64, error) {
	var resp struct {
		Projects []projectItem
		Total    int64
	}
	err := s.call(ctx, "GetProjectList", map[string]any{"Offset": offset, "Limit": limit}, &resp)
	return resp.Projects, resp.Total, err
}

// allProjects returns every project (a page at a time).
func (s *Server) allProjects(ctx context.Context) ([]projectItem, error) {
	var all []projectItem
	for {
		ps, total, err := s.listProjects(ctx, int64(len(all)), listAll)
		if err != nil {
			return nil, err
		}
		all = append(all, ps...)
		if len(ps) == 0 || int64(len(all)) >= total {
			return all, nil
		}
	}
}

func (s *Server) projectsPage(w http.ResponseWriter, r *http.Request) {
	s.renderProjects(w, r, http.StatusOK, projectForm{}, "")
}

func (s *Server) renderProjects(w http.ResponseWriter, r *http.Request, status int, form projectForm, pageErr string) {
	offset := queryOffset(r)
	ps, total, err := s.listProjects(r.Context(), offset, listAll)
	if err != nil {
		pageErr, status = userMessage(err), statusOf(err)
	}
	s.render(w, r, status, "projects", page{
		Title: "Projects", Nav: "projects", Error: pageErr,
		Data: projectsData{Projects: ps, Form: form, Pager: newPager(r.URL, offset, listAll, total)},
	})
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request) {
	form := projectForm{
		ProjectName: strings.TrimSpace(r.PostFormValue("ProjectName")),
		ProjectDesc: strings.TrimSpace(r.PostFormValue("ProjectDesc")),
	}
	var resp struct{ Project projectItem }
	err := s.call(r.Context(), "CreateProject", map[string]string{
		"ProjectName": form.ProjectName, "ProjectDesc": form.ProjectDesc,
	}, &resp)
	if err != nil {
		var pageErr string
		form.Errors, pageErr = fieldErrors(err, "ProjectName", "ProjectDesc")
		if form.Errors == nil && form.ProjectName == "" {
			form.Errors, pageErr = map[string]string{"ProjectName": "Enter a project name."}, ""
		}
		s.renderProjects(w, r, statusOf(err), form, pageErr)
		return
	}
	redirectFlash(w, r, Prefix+"projects", "Project "+form.ProjectName+" created ("+resp.Project.ProjectId+").")
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.call(r.Context(), "DeleteProject", map[string]string{"ProjectId": id}, nil); err != nil {
		s.renderProjects(w, r, statusOf(err), projectForm{}, "Could not delete project "+id+": "+userMessage(err))
		return
	}
	redirectFlash(w, r, Prefix+"projects", "Project "+id+" deleted.")
}
