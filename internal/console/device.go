package console

import "net/http"

// deviceRoutes mounts the device detail page and its live endpoints.
func (s *Server) deviceRoutes(mux *http.ServeMux) {}
