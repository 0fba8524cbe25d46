package console

import "net/http"

// coreRoutes mounts projects, products, thing models and devices.
func (s *Server) coreRoutes(mux *http.ServeMux) {}
