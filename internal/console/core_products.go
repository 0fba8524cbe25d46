package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"
)

// productItem is a product as the product actions return it.
type productItem struct {
	ProductId      string
	ProductName    string
	ProductDesc    string
	ProjectId      string
	EncryptionType string
	ProductType    int64
	NetType        string
	DataProtocol   int64
	DevStatus      string
	DeviceCount    int64
	CreateTime     int64
}

// AuthLabel names the product's auth type.
func (p productItem) AuthLabel() string {
	switch p.EncryptionType {
	case "1":
		return "certificate"
	case "2":
		return "key"
	default:
		return "type " + p.EncryptionType
	}
}

// KindLabel names the product's kind.
func (p productItem) KindLabel() string {
	if p.ProductType == 5 {
		return "gateway"
	}
	return "normal"
}

// IsCert reports whether devices authenticate with certificates.
func (p productItem) IsCert() bool { return p.EncryptionType == "1" }

// productForm is the create-product form as submitted.
type productForm struct {
	ProductName    string
	ProductDesc    string
	ProjectId      string
	EncryptionType string
	ProductType    string
	NetType        string
	Errors         map[string]string
}

// netTypes are the connection types offered when creating a product.
func netTypes() []string { return []string{"wifi", "cellular", "ethernet", "else"} }

type productsData struct {
	Products []productItem
	Projects []projectItem
	Names    map[string]string // project id -> name
	Form     productForm
	NetTypes []string
	Project  string // the project filter ("" : all)
	Pager    pager
}

// listProducts returns one page of products (of project, "" : all).
func (s *Server) listProducts(ctx context.Context, project string, offset, limit int64) ([]productItem, int64, error) {
	var resp struct {
		Products []productItem
		Total    int64
	}
	req := map[string]any{"Offset": offset, "Limit": limit}
	if project != "" {
		req["ProjectId"] = project
	}
	err := s.call(ctx, "GetStudioProductList", req, &resp)
	return resp.Products, resp.Total, err
}

// allProducts returns every product.
func (s *Server) allProducts(ctx context.Context) ([]productItem, error) {
	var all []productItem
	for {
		ps, total, err := s.listProducts(ctx, "", int64(len(all)), listAll)
		if err != nil {
			return nil, err
		}
		all = append(all, ps...)
		if len(ps) == 0 || int64(len(all)) >= total {
			return all, nil
		}
	}
}

func (s *Server) describeProduct(ctx context.Context, pid string) (productItem, error) {
	var resp struct{ Product productItem }
	err := s.call(ctx, "DescribeStudioProduct", map[string]string{"ProductId": pid}, &resp)
	return resp.Product, err
}

func (s *Server) productsPage(w http.ResponseWriter, r *http.Request) {
	s.renderProducts(w, r, http.StatusOK, productForm{EncryptionType: "2", ProductType: "0", NetType: "wifi"}, "")
}

func (s *Server) renderProducts(w http.ResponseWriter, r *http.Request, status int, form productForm, pageErr string) {
	ctx := r.Context()
	d := productsData{Form: form, NetTypes: netTypes(), Project: r.URL.Query().Get("project"), Names: map[string]string{}}
	fail := func(err error) {
		if pageErr == "" {
			pageErr = userMessage(err)
		}
		if status < 400 {
			status = statusOf(err)
		}
	}
	projects, err := s.allProjects(ctx)
	if err != nil {
		fail(err)
	}
	d.Projects = projects
	for _, p := range projects {
		d.Names[p.ProjectId] = p.ProjectName
	}
	if d.Form.ProjectId == "" && len(projects) > 0 {
		d.Form.ProjectId = projects[0].ProjectId
		if d.Project != "" {
			d.Form.ProjectId = d.Project
		}
	}
	offset := queryOffset(r)
	ps, total, err := s.listProducts(ctx, d.Project, offset, listAll)
	if err != nil {
		fail(err)
	}
	d.Products, d.Pager = ps, newPager(r.URL, offset, listAll, total)
	s.render(w, r, status, "products", page{Title: "Products", Nav: "products", Error: pageErr, Data: d})
}

func (s *Server) createProduct(w http.ResponseWriter, r *http.Request) {
	form := productForm{
		ProductName:    strings.TrimSpace(r.PostFormValue("ProductName")),
		ProductDesc:    strings.TrimSpace(r.PostFormValue("ProductDesc")),
		ProjectId:      r.PostFormValue("ProjectId"),
		EncryptionType: r.PostFormValue("EncryptionType"),
		ProductType:    r.PostFormValue("ProductType"),
		NetType:        r.PostFormValue("NetType"),
	}
	if form.NetType == "" {
		form.NetType = "wifi"
	}
	kind, err := strconv.ParseInt(form.ProductType, 10, 64)
	if err != nil {
		form.Errors = map[string]string{"ProductType": "Choose normal or gateway."}
		s.renderProducts(w, r, http.StatusBadRequest, form, "")
		return
	}
	var resp struct{ Product productItem }
	err = s.call(r.Context(), "CreateStudioProduct", map[string]any{
		"ProductName": form.ProductName, "ProductDesc": form.ProductDesc, "ProjectId": form.ProjectId,
		"EncryptionType": form.EncryptionType, "ProductType": kind, "NetType": form.NetType,
		"CategoryId": 1, "DataProtocol": 1,
	}, &resp)
	if err != nil {
		var pageErr string
		form.Errors, pageErr = fieldErrors(err, "ProductName", "ProductDesc", "ProjectId", "EncryptionType", "ProductType", "NetType")
		if form.Errors == nil && statusOf(err) == http.StatusBadRequest { // e.g. the name is taken
			form.Errors, pageErr = map[string]string{"ProductName": pageErr}, ""
		}
		s.renderProducts(w, r, statusOf(err), form, pageErr)
		return
	}
	pid := resp.Product.ProductId
	redirectFlash(w, r, Prefix+"products/"+pid, "Product "+form.ProductName+" created. Define its thing model next.")
}

func (s *Server) deleteProduct(w http.ResponseWriter, r *http.Request) {
	pid := r.PathValue("pid")
	if err := s.call(r.Context(), "DeleteStudioProduct", map[string]string{"ProductId": pid}, nil); err != nil {
		s.renderProduct(w, r, statusOf(err), productExtras{}, "Could not delete the product: "+userMessage(err))
		return
	}
	redirectFlash(w, r, Prefix+"products", "Product "+pid+" deleted.")
}
