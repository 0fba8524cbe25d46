package console

import "net/http"

// fleetRoutes mounts the gateway and OTA pages.
func (s *Server) fleetRoutes(mux *http.ServeMux) {}
